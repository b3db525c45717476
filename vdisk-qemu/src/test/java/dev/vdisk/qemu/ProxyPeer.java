package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.UnixMsgSocket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The proxy's (QEMU's) side of a connection, for tests: builds raw messages exactly as QEMU 7.2
 * lays them out (or deliberately wrong) and reads the remote's RETs with a bounded wait.
 */
final class ProxyPeer implements AutoCloseable {
  private final UnixMsgSocket socket;
  private final Memory pollScratch = new Memory(8);

  ProxyPeer(int fd) {
    this.socket = new UnixMsgSocket(fd);
  }

  /** Sends header (cmd, size) + payload in one sendmsg, with {@code fds} as SCM_RIGHTS. */
  void send(int cmd, long size, byte[] payload, int... fds) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(cmd).putInt(0).putLong(size).put(payload);
    byte[] bytes = b.array();
    try (Memory m = new Memory(bytes.length)) {
      m.write(0, bytes, 0, bytes.length);
      socket.send(m, bytes.length, fds, fds.length);
    }
  }

  void send(int cmd, byte[] payload, int... fds) throws IOException {
    send(cmd, payload.length, payload, fds);
  }

  static byte[] conf(long addr, long val, int len) {
    return ByteBuffer.allocate(12)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt((int) addr)
        .putInt((int) val)
        .putInt(len)
        .array();
  }

  static byte[] bar(long addr, long val, int size, boolean memory) {
    return ByteBuffer.allocate(24)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(addr)
        .putLong(val)
        .putInt(size)
        .put((byte) (memory ? 1 : 0))
        .put(new byte[3])
        .array();
  }

  static byte[] sysmem(long[] gpas, long[] sizes, long[] offsets) {
    ByteBuffer b = ByteBuffer.allocate(192).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < gpas.length; i++) {
      b.putLong(8 * i, gpas[i]);
      b.putLong(64 + 8 * i, sizes[i]);
      b.putLong(128 + 8 * i, offsets[i]);
    }
    return b.array();
  }

  long cfgRead(int addr, int len) throws IOException {
    send(MpqemuCommand.PCI_CFGREAD, conf(addr, 0, len));
    return readRet();
  }

  long cfgWrite(int addr, long val, int len) throws IOException {
    send(MpqemuCommand.PCI_CFGWRITE, conf(addr, val, len));
    return readRet();
  }

  long barRead(long addr, int size, boolean memory) throws IOException {
    send(MpqemuCommand.BAR_READ, bar(addr, 0, size, memory));
    return readRet();
  }

  long barWrite(long addr, long val, int size, boolean memory) throws IOException {
    send(MpqemuCommand.BAR_WRITE, bar(addr, val, size, memory));
    return readRet();
  }

  /** Reads one RET within 5 s and checks its header; returns its value. */
  long readRet() throws IOException {
    byte[] raw = readRaw(24);
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(b.getInt(0)).as("reply cmd").isEqualTo(MpqemuCommand.RET);
    assertThat(b.getLong(8)).as("reply size").isEqualTo(8);
    return b.getLong(16);
  }

  /** The next {@code n} raw bytes the remote sent. */
  byte[] readRaw(int n) throws IOException {
    byte[] out = new byte[n];
    int got = 0;
    int[] fds = new int[UnixMsgSocket.MAX_FDS];
    try (Memory m = new Memory(n)) {
      while (got < n) {
        if (Posix.pollReadable(pollScratch, new int[] {socket.fd()}, 1, 5000) < 0) {
          throw new AssertionError("no reply within 5 s (" + got + " of " + n + " bytes)");
        }
        int r = socket.receive(m, got, n - got, fds, 0);
        assertThat(socket.lastFdCount()).as("fds in a reply").isZero();
        if (r == 0) {
          throw new AssertionError("remote closed the connection");
        }
        got += r;
      }
      m.read(0, out, 0, n);
    }
    return out;
  }

  /** True when the remote sent nothing within {@code millis}. */
  boolean silentFor(int millis) throws IOException {
    return Posix.pollReadable(pollScratch, new int[] {socket.fd()}, 1, millis) < 0;
  }

  int fd() {
    return socket.fd();
  }

  @Override
  public void close() {
    socket.close();
  }
}
