package dev.vdisk.vhost;

import com.sun.jna.Memory;
import dev.vdisk.vhost.VhostUserLayouts.Header;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.Fds;
import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.vhost.natives.PollSet;
import dev.vdisk.vhost.natives.UnixSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Reads whole vhost-user messages from the front end's socket and writes replies. Owned by the
 * connection thread. Every structural check that does not depend on the request (version, flags,
 * size limit, descriptor count limit, a payload that never arrives) happens here.
 */
final class MessageChannel {
  /** The most descriptors one message may carry (SET_MEM_TABLE's eight regions). */
  static final int MAX_FDS = VhostUserLayouts.MemTable.MAX_REGIONS;

  /** How long the rest of a message may take to arrive once its first byte has. */
  static final int PAYLOAD_TIMEOUT_MILLIS = 5_000;

  enum Status {
    MESSAGE,
    END_OF_STREAM,
    IDLE_TIMEOUT,
    STOPPED
  }

  private final UnixSocket socket;
  private final EventFd stop;
  private final Memory in = new Memory(Header.SIZE + VhostUserLayouts.MAX_PAYLOAD);
  private final Memory out = new Memory(Header.SIZE + VhostUserLayouts.MAX_PAYLOAD);
  private final ByteBuffer outBuffer;
  private final VhostUserMessage message;
  private final PollSet poll = new PollSet(2);

  MessageChannel(UnixSocket socket, EventFd stop) {
    this.socket = socket;
    this.stop = stop;
    this.message = new VhostUserMessage(in.getByteBuffer(0, in.size()));
    this.outBuffer = out.getByteBuffer(0, out.size()).order(ByteOrder.LITTLE_ENDIAN);
  }

  VhostUserMessage message() {
    return message;
  }

  /**
   * Waits up to {@code idleMillis} (-1: forever) for the next message and reads all of it into
   * {@link #message()}. A peer that closes between messages is END_OF_STREAM; one that closes or
   * stalls inside a message is a protocol error. A server stop is STOPPED wherever it finds the
   * read, also inside a message (the half-read message is dropped).
   */
  Status read(int idleMillis) throws VhostUserProtocolException, NativeException {
    message.closeFds();
    switch (await(idleMillis)) {
      case 0:
        return Status.IDLE_TIMEOUT;
      case 2:
        return Status.STOPPED;
      default:
        break;
    }
    int[] fds = new int[0];
    boolean truncated = false;
    int got = 0;
    try {
      while (got < Header.SIZE) {
        int ready = got > 0 ? awaitWithin() : 1;
        if (ready == 2) {
          return Status.STOPPED; // the server stops: not the front end's fault
        }
        if (ready != 1) {
          throw new VhostUserProtocolException(
              "message header incomplete: " + got + " of " + Header.SIZE + " bytes, then silence");
        }
        UnixSocket.Received r = socket.receive(in, got, Header.SIZE - got, MAX_FDS);
        if (r.endOfStream()) {
          if (got == 0) {
            return Status.END_OF_STREAM;
          }
          throw new VhostUserProtocolException(
              "front end closed the socket inside a message header (" + got + " bytes)");
        }
        fds = concat(fds, r.fds());
        truncated |= r.controlTruncated();
        got += r.bytes();
      }
      message.attachFds(fds);
      fds = null;
      checkHeader(truncated);
      int size = message.size();
      got = 0;
      while (got < size) {
        int ready = awaitWithin();
        if (ready == 2) {
          return Status.STOPPED;
        }
        if (ready != 1) {
          throw new VhostUserProtocolException(
              message.name()
                  + " payload incomplete: "
                  + got
                  + " of "
                  + size
                  + " bytes within "
                  + PAYLOAD_TIMEOUT_MILLIS
                  + " ms");
        }
        UnixSocket.Received r = socket.receive(in, Header.SIZE + got, size - got, 0);
        if (r.endOfStream()) {
          throw new VhostUserProtocolException(
              "front end closed the socket inside "
                  + message.name()
                  + " ("
                  + got
                  + " of "
                  + size
                  + " payload bytes)");
        }
        if (r.controlTruncated()) {
          throw new VhostUserProtocolException(
              message.name() + " carried file descriptors after its first byte");
        }
        got += r.bytes();
      }
      return Status.MESSAGE;
    } finally {
      Fds.closeAll(fds);
    }
  }

  private void checkHeader(boolean fdsTruncated) throws VhostUserProtocolException {
    int flags = message.flags();
    if ((flags & Header.VERSION_MASK) != Header.VERSION) {
      throw new VhostUserProtocolException(
          message.name()
              + " has protocol version "
              + (flags & Header.VERSION_MASK)
              + " (expected: "
              + Header.VERSION
              + ")");
    }
    if ((flags & ~Header.KNOWN_FLAGS) != 0 || (flags & Header.FLAG_REPLY) != 0) {
      throw new VhostUserProtocolException(
          message.name()
              + " has flags 0x"
              + Integer.toHexString(flags)
              + " (expected: version 1, optionally NEED_REPLY 0x8; never REPLY 0x4 from the front"
              + " end)");
    }
    int size = message.size();
    if (size < 0 || size > VhostUserLayouts.MAX_PAYLOAD) {
      throw new VhostUserProtocolException(
          message.name()
              + " announces a payload of "
              + Integer.toUnsignedString(size)
              + " bytes (expected: <= "
              + VhostUserLayouts.MAX_PAYLOAD
              + ")");
    }
    if (fdsTruncated || message.fdCount() > MAX_FDS) {
      throw new VhostUserProtocolException(
          message.name() + " carried more than " + MAX_FDS + " file descriptors");
    }
  }

  /** 1: socket readable, 2: stop signalled, 0: timed out. */
  private int await(int timeoutMillis) throws NativeException {
    poll.set(0, socket.fd(), PollSet.POLLIN);
    poll.set(1, stop.fd(), PollSet.POLLIN);
    if (poll.poll(2, timeoutMillis) == 0) {
      return 0;
    }
    if (poll.readable(1)) {
      return 2;
    }
    return poll.readable(0) || poll.failed(0) ? 1 : 0;
  }

  private int awaitWithin() throws NativeException {
    return await(PAYLOAD_TIMEOUT_MILLIS);
  }

  /** Sends a reply to the current message with a u64 payload. */
  void replyU64(long value) throws NativeException {
    ByteBuffer b = beginReply(VhostUserLayouts.U64_SIZE);
    b.putLong(Header.SIZE, value);
    send(VhostUserLayouts.U64_SIZE);
  }

  /** Reply payload buffer for the current message: fill from offset {@link Header#SIZE}. */
  ByteBuffer beginReply(int payloadSize) {
    if (payloadSize < 0 || payloadSize > VhostUserLayouts.MAX_PAYLOAD) {
      throw new IllegalArgumentException("reply payload " + payloadSize);
    }
    outBuffer.putInt(Header.REQUEST, message.request());
    outBuffer.putInt(Header.FLAGS, Header.VERSION | Header.FLAG_REPLY);
    outBuffer.putInt(Header.SIZE_FIELD, payloadSize);
    return outBuffer;
  }

  void send(int payloadSize) throws NativeException {
    socket.send(out, Header.SIZE + payloadSize);
  }

  private static int[] concat(int[] a, int[] b) {
    if (b.length == 0) {
      return a;
    }
    int[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
