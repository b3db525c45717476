package dev.vdisk.vhost.testing;

import com.sun.jna.Memory;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.vhost.natives.PollSet;
import dev.vdisk.vhost.natives.UnixSocket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Plays the VMM side of vhost-user for tests: sends well-formed or deliberately broken messages
 * (with descriptors) and reads replies. Used by the protocol and bad-input tests; reusable by any
 * module that wants to poke a vhost-user back end without QEMU.
 */
public final class VhostUserTestClient implements AutoCloseable {
  public static final int VERSION = 0x1;
  public static final int FLAG_REPLY = 0x4;
  public static final int NEED_REPLY = 0x8;

  private final UnixSocket socket;

  private VhostUserTestClient(UnixSocket socket) {
    this.socket = socket;
  }

  public static VhostUserTestClient connect(Path path) throws NativeException {
    return new VhostUserTestClient(UnixSocket.connect(path));
  }

  /** A reply: request code, flags and payload. */
  public record Reply(int request, int flags, ByteBuffer payload) {
    public long u64() {
      return payload.getLong(0);
    }
  }

  /** Sends exactly these bytes, with {@code fds} on the first byte. */
  public void sendRaw(byte[] bytes, int... fds) throws NativeException {
    Memory m = new Memory(bytes.length);
    m.write(0, bytes, 0, bytes.length);
    socket.send(m, bytes.length, fds);
  }

  /** A header (version 1 plus {@code extraFlags}) and the payload, as one send. */
  public void send(int request, int extraFlags, byte[] payload, int... fds) throws NativeException {
    sendRaw(message(request, VERSION | extraFlags, payload.length, payload), fds);
  }

  public static byte[] message(int request, int flags, int size, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(12 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(request).putInt(flags).putInt(size).put(payload);
    return b.array();
  }

  public static byte[] u64(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
  }

  public static byte[] state(int index, int num) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(index).putInt(num).array();
  }

  public static byte[] vringAddr(int index, int flags, long desc, long used, long avail) {
    return ByteBuffer.allocate(40)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt(index)
        .putInt(flags)
        .putLong(desc)
        .putLong(used)
        .putLong(avail)
        .putLong(0)
        .array();
  }

  /** A memory region description (32 bytes). */
  public record Region(long gpa, long size, long uva, long mmapOffset) {}

  public static byte[] memTable(Region... regions) {
    ByteBuffer b = ByteBuffer.allocate(8 + 32 * regions.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(regions.length).putInt(0);
    for (Region r : regions) {
      b.putLong(r.gpa()).putLong(r.size()).putLong(r.uva()).putLong(r.mmapOffset());
    }
    return b.array();
  }

  public static byte[] singleRegion(Region r) {
    return ByteBuffer.allocate(40)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(0)
        .putLong(r.gpa())
        .putLong(r.size())
        .putLong(r.uva())
        .putLong(r.mmapOffset())
        .array();
  }

  public static byte[] config(int offset, int size, int flags, byte[] data) {
    return ByteBuffer.allocate(12 + data.length)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt(offset)
        .putInt(size)
        .putInt(flags)
        .put(data)
        .array();
  }

  /** Reads one reply, waiting up to {@code timeoutMillis}; throws on timeout or end of stream. */
  public Reply readReply(int timeoutMillis) throws IOException {
    byte[] header = readExactly(12, timeoutMillis);
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    int request = h.getInt(0);
    int flags = h.getInt(4);
    int size = h.getInt(8);
    if (size < 0 || size > 4096) {
      throw new IOException("reply announces " + size + " bytes");
    }
    byte[] payload = size == 0 ? new byte[0] : readExactly(size, timeoutMillis);
    return new Reply(request, flags, ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
  }

  /** Sends a request without payload and returns the u64 reply. */
  public long getU64(int request) throws IOException {
    send(request, 0, new byte[0]);
    Reply r = readReply(5000);
    if (r.request() != request || (r.flags() & FLAG_REPLY) == 0) {
      throw new IOException("unexpected reply " + r);
    }
    return r.u64();
  }

  /** Sends a request with NEED_REPLY and returns the ack value (0 = success). */
  public long sendAcked(int request, byte[] payload, int... fds) throws IOException {
    send(request, NEED_REPLY, payload, fds);
    Reply r = readReply(5000);
    if (r.request() != request) {
      throw new IOException("ack for request " + r.request() + ", expected " + request);
    }
    return r.u64();
  }

  /**
   * True when the server closes the connection within {@code timeoutMillis} (end of stream after
   * draining whatever it sent, e.g. a failure ack).
   */
  public boolean closedByPeer(int timeoutMillis) throws NativeException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    Memory buf = new Memory(512);
    PollSet poll = new PollSet(1);
    if (socket.fd() < 0) {
      return true; // this side hung up first; the server's close is checked by the caller
    }
    while (true) {
      long left = (deadline - System.nanoTime()) / 1_000_000L;
      if (left <= 0) {
        return false;
      }
      poll.set(0, socket.fd(), PollSet.POLLIN);
      if (poll.poll(1, (int) left) == 0) {
        continue;
      }
      UnixSocket.Received r;
      try {
        r = socket.receive(buf, 0, 512, 4);
      } catch (NativeException e) {
        return true; // ECONNRESET: closed with unread data
      }
      dev.vdisk.vhost.natives.Fds.closeAll(r.fds());
      if (r.endOfStream()) {
        return true;
      }
    }
  }

  private byte[] readExactly(int n, int timeoutMillis) throws IOException {
    Memory buf = new Memory(n);
    PollSet poll = new PollSet(1);
    int got = 0;
    while (got < n) {
      poll.set(0, socket.fd(), PollSet.POLLIN);
      if (poll.poll(1, timeoutMillis) == 0) {
        throw new IOException("no reply within " + timeoutMillis + " ms (" + got + "/" + n + ")");
      }
      UnixSocket.Received r = socket.receive(buf, got, n - got, 4);
      dev.vdisk.vhost.natives.Fds.closeAll(r.fds());
      if (r.endOfStream()) {
        throw new IOException("server closed the connection (" + got + "/" + n + " bytes)");
      }
      got += r.bytes();
    }
    return buf.getByteArray(0, n);
  }

  /** Waits up to {@code timeoutMillis} for the eventfd to be signalled; drains it. */
  public static boolean awaitSignal(EventFd e, int timeoutMillis) throws NativeException {
    PollSet poll = new PollSet(1);
    poll.set(0, e.fd(), PollSet.POLLIN);
    if (poll.poll(1, timeoutMillis) == 0) {
      return false;
    }
    e.drain(new Memory(8));
    return true;
  }

  public UnixSocket socket() {
    return socket;
  }

  @Override
  public void close() {
    socket.close();
  }
}
