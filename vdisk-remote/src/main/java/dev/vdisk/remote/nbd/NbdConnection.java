package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.Streams;
import dev.vdisk.remote.natives.NativeBuffers;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * One transmission-phase socket of an {@link NbdClient}: senders write requests under a lock, one
 * reader thread parses replies and moves READ data into the requester's memory. Every length and
 * offset in a reply is checked against the request it names before a byte is written into that
 * request's memory.
 *
 * <p>System calls, not bytes, are what small requests cost, so the reader takes replies from the
 * socket in buffer-sized reads (one read brings many 4 KiB replies, copied out of the buffer),
 * while a large payload's remainder is read straight into the requester's memory. Requests that
 * completions submit on the reader thread are batched and written together before the reader next
 * waits for the server.
 */
final class NbdConnection implements Runnable {
  /** Largest BLOCK_STATUS chunk accepted (we ask with REQ_ONE: one extent is 12 bytes). */
  private static final long MAX_STATUS_CHUNK = 1 << 20;

  /** Largest error chunk: u32 error, u16 message length, message, optional u64 offset. */
  private static final long MAX_ERROR_CHUNK = 4 + 2 + 65535 + 8;

  /** Data is read in pieces of this size so a long transfer still counts as activity. */
  private static final int ACTIVITY_PIECE = 1 << 20;

  /**
   * Receive buffer: holds a queue depth's worth of 4 KiB replies, and bounds the extra copy of a
   * large READ (only what arrived with its header passes through the buffer).
   */
  private static final int RECEIVE_BUFFER = 64 * 1024;

  /** A READ remainder at least this long is read into the requester's memory directly. */
  private static final int DIRECT_READ_MIN = 16 * 1024;

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

  // Reader state, reader thread only. Unread bytes are in.[inPos, inLim).
  private final ByteBuffer in = ByteBuffer.allocateDirect(RECEIVE_BUFFER);
  private final long inAddress = NativeBuffers.address(in);
  private int inPos;
  private int inLim;
  private final NativeView recvView = new NativeView();

  // Requests queued by the reader thread (see class comment); reader thread only, written under
  // sendLock.
  private final ByteBuffer batch =
      ByteBuffer.allocateDirect(NbdClient.MAX_IN_FLIGHT * REQUEST_SIZE);

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
    if (s.command != CMD_WRITE && Thread.currentThread() == reader && !dead) {
      if (batch.remaining() < REQUEST_SIZE) {
        flushBatchOrKill();
      }
      putRequest(batch, s);
      return;
    }
    IOException failure = null;
    sendLock.lock();
    try {
      if (dead) {
        failure = new IOException("connection already closed");
      } else {
        request.clear();
        putRequest(request, s);
        request.flip();
        if (s.command == CMD_WRITE) {
          gather[0] = request;
          gather[1] = sendView.of(s.store, s.storeOffset, s.length);
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

  private static void putRequest(ByteBuffer b, NbdSlot s) {
    b.putInt(REQUEST_MAGIC).putShort((short) s.commandFlags).putShort((short) s.command);
    b.putLong(s.handle()).putLong(s.offset).putInt(s.length);
  }

  /** Reader thread: writes the queued requests in one go. */
  private void flushBatch() throws IOException {
    if (batch.position() == 0) {
      return;
    }
    batch.flip();
    sendLock.lock();
    try {
      if (dead) {
        throw new IOException("connection already closed");
      }
      Streams.writeFully(ch, batch);
    } finally {
      batch.clear();
      sendLock.unlock();
    }
  }

  /** Reader thread, outside reply parsing: a failed write ends the connection (and the reader). */
  private void flushBatchOrKill() {
    try {
      flushBatch();
    } catch (IOException e) {
      kill();
    }
  }

  @Override
  public void run() {
    NbdSlot current = null;
    try {
      while (true) {
        need(SIMPLE_REPLY_SIZE, "reply header");
        int magic = in.getInt(inPos);
        long handle = in.getLong(inPos + 8);
        if (magic == SIMPLE_REPLY_MAGIC) {
          int error = in.getInt(inPos + 4);
          inPos += SIMPLE_REPLY_SIZE;
          current = claim(handle, "simple reply");
          simple(current, error);
          NbdSlot done = current;
          current = null;
          owner.finished(done);
        } else if (magic == STRUCTURED_REPLY_MAGIC && info.structuredReplies()) {
          need(CHUNK_HEADER_SIZE, "reply chunk header");
          int flags = Short.toUnsignedInt(in.getShort(inPos + 4));
          int type = Short.toUnsignedInt(in.getShort(inPos + 6));
          long length = Integer.toUnsignedLong(in.getInt(inPos + 16));
          inPos += CHUNK_HEADER_SIZE;
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
    discard(length - 12, "BLOCK_STATUS extents");
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
    byte[] m = new byte[Math.min(messageLength, 256)];
    for (int i = 0; i < m.length; ) {
      need(1, "error message");
      int k = Math.min(m.length - i, inLim - inPos);
      in.get(inPos, m, i, k);
      inPos += k;
      i += k;
    }
    discard(messageLength - m.length, "error message");
    discard(length - 6 - messageLength, "error chunk");
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
      discard(n, "READ data of a timed-out request");
      return;
    }
    long address = s.store.addressForWrite(s.storeOffset + rel);
    int done = 0;
    while (done < n) {
      if (inPos == inLim && n - done >= DIRECT_READ_MIN) {
        // The rest of a large payload: no detour through the buffer.
        flushBatch();
        while (done < n) {
          int piece = Math.min(ACTIVITY_PIECE, n - done);
          Streams.readFully(ch, recvView.at(address + done, piece), "READ data");
          done += piece;
          touch();
        }
        return;
      }
      need(1, "READ data");
      int k = Math.min(n - done, inLim - inPos);
      UnsafeMemory.MEMORY.copyMemory(inAddress + inPos, address + done, k);
      inPos += k;
      done += k;
    }
  }

  /**
   * Makes at least {@code n} (at most the buffer's size) unread bytes available, reading from the
   * socket as needed; queued requests go out first, since the server may be waiting for them.
   */
  private void need(int n, String what) throws IOException {
    if (inLim - inPos >= n) {
      return;
    }
    if (inPos > 0) {
      int have = inLim - inPos;
      UnsafeMemory.MEMORY.copyMemory(inAddress + inPos, inAddress, have);
      inPos = 0;
      inLim = have;
    }
    flushBatch();
    while (inLim < n) {
      in.limit(in.capacity()).position(inLim);
      int r = ch.read(in);
      if (r < 0) {
        throw new EOFException(
            "connection closed with " + (n - inLim) + " bytes of " + what + " still to come");
      }
      inLim += r;
      touch();
    }
  }

  /** Reads and drops {@code n} bytes (bounded by the caller). */
  private void discard(long n, String what) throws IOException {
    while (n > 0) {
      need(1, what);
      int k = (int) Math.min(n, inLim - inPos);
      inPos += k;
      n -= k;
    }
  }

  private long readU64(String what) throws IOException {
    need(8, what);
    long v = in.getLong(inPos);
    inPos += 8;
    return v;
  }

  private long readU32(String what) throws IOException {
    need(4, what);
    long v = Integer.toUnsignedLong(in.getInt(inPos));
    inPos += 4;
    return v;
  }

  private long readU16(String what) throws IOException {
    need(2, what);
    long v = Short.toUnsignedInt(in.getShort(inPos));
    inPos += 2;
    return v;
  }
}
