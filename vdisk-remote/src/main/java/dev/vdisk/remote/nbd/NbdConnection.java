package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.Streams;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * One transmission-phase socket of an {@link NbdClient}: senders write requests under a lock, one
 * reader thread parses replies and moves READ data straight into the requester's memory. Every
 * length and offset in a reply is checked against the request it names before a byte is read into
 * that request's memory.
 */
final class NbdConnection implements Runnable {
  /** Largest BLOCK_STATUS chunk accepted (we ask with REQ_ONE: one extent is 12 bytes). */
  private static final long MAX_STATUS_CHUNK = 1 << 20;

  /** Largest error chunk: u32 error, u16 message length, message, optional u64 offset. */
  private static final long MAX_ERROR_CHUNK = 4 + 2 + 65535 + 8;

  /** Data is read in pieces of this size so a long transfer still counts as activity. */
  private static final int ACTIVITY_PIECE = 1 << 20;

  private final SocketChannel ch;
  private final NbdExportInfo info;
  private final NbdTarget target;
  private NbdClient owner;
  private Thread reader;
  private volatile boolean dead;
  private volatile long lastActivity = System.nanoTime();

  // Sender state, guarded by sendLock.
  private final ReentrantLock sendLock = new ReentrantLock();
  private final ByteBuffer request = ByteBuffer.allocateDirect(REQUEST_SIZE);
  private final ByteBuffer[] gather = new ByteBuffer[2];
  private final NativeView sendView = new NativeView();

  // Reader state, reader thread only.
  private final ByteBuffer reply = ByteBuffer.allocateDirect(CHUNK_HEADER_SIZE);
  private final ByteBuffer scratch = ByteBuffer.allocateDirect(64 * 1024);
  private final NativeView recvView = new NativeView();

  NbdConnection(SocketChannel ch, NbdExportInfo info, NbdTarget target) {
    this.ch = ch;
    this.info = info;
    this.target = target;
  }

  NbdExportInfo info() {
    return info;
  }

  void start(NbdClient client) {
    this.owner = client;
    reader = new Thread(this, "nbd-reader " + target);
    reader.setDaemon(true);
    reader.start();
  }

  long lastActivity() {
    return lastActivity;
  }

  void touch() {
    lastActivity = System.nanoTime();
  }

  /** Closes the socket; blocked readers and writers wake with an exception. */
  void kill() {
    dead = true;
    try {
      ch.close();
    } catch (IOException ignored) {
      // Closing is best effort; the channel is unusable either way.
    }
  }

  /** Sends NBD_CMD_DISC (soft disconnect) and closes. */
  void disconnect() {
    sendLock.lock();
    try {
      if (!dead) {
        request.clear();
        request.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) CMD_DISC);
        request.putLong(0).putLong(0).putInt(0).flip();
        Streams.writeFully(ch, request);
      }
    } catch (IOException ignored) {
      // The server is gone already; nothing to say goodbye to.
    } finally {
      sendLock.unlock();
    }
    kill();
  }

  /** Puts one request on the wire; a failure hands the connection back to the client. */
  void send(NbdSlot s) {
    IOException failure = null;
    sendLock.lock();
    try {
      if (dead) {
        failure = new IOException("connection already closed");
      } else {
        int command = s.command;
        int length = s.length;
        request.clear();
        request.putInt(REQUEST_MAGIC).putShort((short) s.commandFlags).putShort((short) command);
        request.putLong(s.handle()).putLong(s.offset).putInt(length).flip();
        if (command == CMD_WRITE) {
          gather[0] = request;
          gather[1] = sendView.of(s.store, s.storeOffset, length);
          try {
            while (gather[1].hasRemaining()) {
              ch.write(gather);
            }
          } finally {
            gather[1] = null;
          }
        } else {
          Streams.writeFully(ch, request);
        }
      }
    } catch (IOException e) {
      failure = e;
    } finally {
      sendLock.unlock();
    }
    if (failure != null) {
      owner.connectionFailed(this, failure, true, null);
    }
  }

  @Override
  public void run() {
    NbdSlot current = null;
    try {
      while (true) {
        reply.clear().limit(SIMPLE_REPLY_SIZE);
        Streams.readFully(ch, reply, "reply header");
        touch();
        int magic = reply.getInt(0);
        long handle = reply.getLong(8);
        if (magic == SIMPLE_REPLY_MAGIC) {
          current = claim(handle, "simple reply");
          simple(current, reply.getInt(4));
          NbdSlot done = current;
          current = null;
          owner.finished(done);
        } else if (magic == STRUCTURED_REPLY_MAGIC && info.structuredReplies()) {
          reply.limit(CHUNK_HEADER_SIZE);
          Streams.readFully(ch, reply, "reply chunk header");
          int flags = Short.toUnsignedInt(reply.getShort(4));
          int type = Short.toUnsignedInt(reply.getShort(6));
          long length = Integer.toUnsignedLong(reply.getInt(16));
          current = claim(handle, "reply chunk");
          boolean last = chunk(current, flags, type, length);
          NbdSlot done = current;
          current = null;
          if (last) {
            owner.finished(done);
          } else {
            owner.release(done);
          }
        } else {
          throw new NbdProtocolException(
              "bad reply magic 0x"
                  + Integer.toHexString(magic)
                  + (magic == STRUCTURED_REPLY_MAGIC
                      ? " (structured reply, which was not negotiated)"
                      : " (expected 0x67446698 or 0x668e33ef)"));
        }
      }
    } catch (NbdProtocolException e) {
      owner.connectionFailed(this, e, false, current);
    } catch (IOException e) {
      IOException cause =
          dead && !(e instanceof EOFException) ? new IOException("connection closed", e) : e;
      owner.connectionFailed(this, cause, true, current);
    } catch (RuntimeException e) {
      owner.connectionFailed(
          this, new NbdProtocolException("reply handling failed: " + e), false, current);
    }
  }

  private NbdSlot claim(long handle, String what) throws NbdProtocolException {
    NbdSlot s = owner.claim(handle);
    if (s == null) {
      throw new NbdProtocolException(
          what + " for handle 0x" + Long.toHexString(handle) + " that is not in flight");
    }
    return s;
  }

  private void simple(NbdSlot s, int error) throws IOException {
    if (error != 0) {
      s.error = serverError(s, error, "");
      return;
    }
    if (s.command == CMD_READ) {
      receive(s, 0, s.length);
      s.covered = s.length;
    } else if (s.command == CMD_BLOCK_STATUS) {
      throw new NbdProtocolException(
          "simple reply without error to BLOCK_STATUS (handle 0x"
              + Long.toHexString(s.handle())
              + ")");
    }
  }

  /** Handles one structured chunk; returns true when it was the last of its reply. */
  private boolean chunk(NbdSlot s, int flags, int type, long length) throws IOException {
    boolean done = (flags & REPLY_FLAG_DONE) != 0;
    switch (type) {
      case REPLY_TYPE_NONE -> {
        if (length != 0 || !done) {
          throw new NbdProtocolException(
              "NONE chunk with "
                  + length
                  + " payload bytes and flags 0x"
                  + Integer.toHexString(flags)
                  + " (expected 0 bytes and DONE)");
        }
      }
      case REPLY_TYPE_OFFSET_DATA -> {
        expectRead(s, "OFFSET_DATA");
        if (length <= 8 || length - 8 > s.length) {
          throw new NbdProtocolException(
              "OFFSET_DATA chunk of "
                  + length
                  + " bytes for a "
                  + s.length
                  + "-byte READ"
                  + " (reply longer than asked)");
        }
        int n = (int) (length - 8);
        long rel = relativeOffset(s, readU64("OFFSET_DATA offset"), n, "OFFSET_DATA");
        receive(s, rel, n);
        s.covered += n;
      }
      case REPLY_TYPE_OFFSET_HOLE -> {
        expectRead(s, "OFFSET_HOLE");
        if (length != 12) {
          throw new NbdProtocolException("OFFSET_HOLE chunk of " + length + " bytes (expected 12)");
        }
        long off = readU64("OFFSET_HOLE offset");
        long n = readU32("OFFSET_HOLE size");
        if (n == 0 || n > s.length) {
          throw new NbdProtocolException(
              "OFFSET_HOLE of " + n + " bytes for a " + s.length + "-byte READ");
        }
        long rel = relativeOffset(s, off, (int) n, "OFFSET_HOLE");
        if (s.state != NbdSlot.ABANDONED) {
          UnsafeMemory.MEMORY.setMemory(s.store.addressForWrite(s.storeOffset + rel), n, (byte) 0);
        }
        s.covered += n;
      }
      case REPLY_TYPE_BLOCK_STATUS -> blockStatus(s, length);
      default -> {
        if ((type & REPLY_TYPE_ERROR_BIT) == 0) {
          throw new NbdProtocolException("unknown reply chunk type " + type);
        }
        errorChunk(s, type, length);
      }
    }
    if (done && s.error == null) {
      if (s.command == CMD_READ && s.covered != s.length) {
        s.error =
            new BlockDeviceException(
                Reason.IO_ERROR,
                "NBD server "
                    + target
                    + " covered "
                    + s.covered
                    + " of "
                    + s.length
                    + " READ bytes",
                s.offset,
                s.length);
      } else if (s.command == CMD_BLOCK_STATUS && s.extent == 0) {
        s.error =
            new BlockDeviceException(
                Reason.IO_ERROR, "BLOCK_STATUS reply had no extent", s.offset, s.length);
      }
    }
    return done;
  }

  private static void expectRead(NbdSlot s, String what) throws NbdProtocolException {
    if (s.command != CMD_READ) {
      throw new NbdProtocolException(what + " chunk in the reply to " + commandName(s.command));
    }
  }

  /** Checks {@code [off, off + n)} lies inside the request and returns {@code off - s.offset}. */
  private static long relativeOffset(NbdSlot s, long off, int n, String what)
      throws NbdProtocolException {
    long rel = off - s.offset;
    if (Long.compareUnsigned(off, s.offset) < 0 || rel < 0 || rel > s.length - (long) n) {
      throw new NbdProtocolException(
          what
              + " ["
              + Long.toUnsignedString(off)
              + ", +"
              + n
              + ") outside the READ ["
              + s.offset
              + ", +"
              + s.length
              + ")");
    }
    return rel;
  }

  private void blockStatus(NbdSlot s, long length) throws IOException {
    if (s.command != CMD_BLOCK_STATUS) {
      throw new NbdProtocolException(
          "BLOCK_STATUS chunk in the reply to " + commandName(s.command));
    }
    if (length < 12 || (length - 4) % 8 != 0 || length > MAX_STATUS_CHUNK) {
      throw new NbdProtocolException(
          "BLOCK_STATUS chunk of "
              + length
              + " bytes (expected 4 + 8n, at most "
              + MAX_STATUS_CHUNK
              + ")");
    }
    long context = readU32("context id");
    long extentLength = readU32("extent length");
    long flags = readU32("extent flags");
    Streams.skip(ch, length - 12, scratch, "BLOCK_STATUS extents");
    if (context != info.allocationContext()) {
      throw new NbdProtocolException(
          "BLOCK_STATUS for context " + context + " (negotiated " + info.allocationContext() + ")");
    }
    if (extentLength == 0) {
      throw new NbdProtocolException("BLOCK_STATUS extent of length 0");
    }
    if (s.extent == 0) {
      long run = Math.min(extentLength, s.length);
      s.extent = (flags & STATE_ZERO) != 0 ? -run : run;
    }
  }

  private void errorChunk(NbdSlot s, int type, long length) throws IOException {
    int fixed = type == REPLY_TYPE_ERROR_OFFSET ? 14 : 6;
    if (length < fixed || length > MAX_ERROR_CHUNK) {
      throw new NbdProtocolException(
          "error chunk of " + length + " bytes (expected " + fixed + ".." + MAX_ERROR_CHUNK + ")");
    }
    int error = (int) readU32("error");
    int messageLength = (int) readU16("message length");
    if (messageLength > length - fixed) {
      throw new NbdProtocolException(
          "error message of " + messageLength + " bytes in a " + length + "-byte chunk");
    }
    scratch.clear().limit(messageLength);
    Streams.readFully(ch, scratch, "error message");
    scratch.flip();
    byte[] m = new byte[Math.min(messageLength, 256)];
    scratch.get(m);
    Streams.skip(ch, length - 6 - messageLength, scratch, "error chunk");
    if (error == 0) {
      throw new NbdProtocolException("error chunk carrying error 0");
    }
    if (s.error == null) {
      String text = new String(m, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
      s.error = serverError(s, error, text);
    }
  }

  private BlockDeviceException serverError(NbdSlot s, int error, String message) {
    boolean writeSide =
        s.command == CMD_WRITE || s.command == CMD_TRIM || s.command == CMD_WRITE_ZEROES;
    Reason reason =
        error == ENOTSUP
            ? Reason.UNSUPPORTED
            : error == EPERM && writeSide ? Reason.READ_ONLY : Reason.IO_ERROR;
    return new BlockDeviceException(
        reason,
        "NBD server "
            + target
            + " answered "
            + commandName(s.command)
            + " with "
            + errnoName(error)
            + (message.isEmpty() ? "" : ": " + message),
        s.offset,
        s.length);
  }

  private void receive(NbdSlot s, long rel, int n) throws IOException {
    if (s.state == NbdSlot.ABANDONED) {
      Streams.skip(ch, n, scratch, "READ data of a timed-out request");
      return;
    }
    long address = s.store.addressForWrite(s.storeOffset + rel);
    for (int done = 0; done < n; ) {
      int piece = Math.min(ACTIVITY_PIECE, n - done);
      ByteBuffer bb = recvView.at(address + done, piece);
      Streams.readFully(ch, bb, "READ data");
      done += piece;
      touch();
    }
  }

  private long readU64(String what) throws IOException {
    scratch.clear().limit(8);
    Streams.readFully(ch, scratch, what);
    return scratch.order(ByteOrder.BIG_ENDIAN).getLong(0);
  }

  private long readU32(String what) throws IOException {
    scratch.clear().limit(4);
    Streams.readFully(ch, scratch, what);
    return Integer.toUnsignedLong(scratch.getInt(0));
  }

  private long readU16(String what) throws IOException {
    scratch.clear().limit(2);
    Streams.readFully(ch, scratch, what);
    return Short.toUnsignedInt(scratch.getShort(0));
  }
}
