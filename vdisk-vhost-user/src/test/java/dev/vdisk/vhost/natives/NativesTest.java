package dev.vdisk.vhost.natives;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Memory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativesTest {

  @Test
  void socketPairCarriesBytesAndDescriptors() throws Exception {
    int fdsBefore = Fds.openCount();
    UnixSocket[] pair = UnixSocket.pair();
    try (UnixSocket a = pair[0];
        UnixSocket b = pair[1];
        EventFd e1 = EventFd.create();
        EventFd e2 = EventFd.create()) {
      Memory out = new Memory(4);
      out.setInt(0, 0x11223344);
      a.send(out, 4, e1.fd(), e2.fd());
      Memory in = new Memory(16);
      UnixSocket.Received r = b.receive(in, 0, 16, 2);
      assertThat(r.bytes()).isEqualTo(4);
      assertThat(in.getInt(0)).isEqualTo(0x11223344);
      assertThat(r.fds()).hasSize(2);
      assertThat(r.controlTruncated()).isFalse();
      // The received descriptors are the same eventfds: a signal on one shows on the other.
      try (EventFd got1 = EventFd.adopt(r.fds()[0]);
          EventFd got2 = EventFd.adopt(r.fds()[1])) {
        got1.signal();
        got1.signal();
        Memory scratch = new Memory(8);
        assertThat(e1.drain(scratch)).isEqualTo(2);
        e2.signal();
        assertThat(got2.drain(scratch)).isEqualTo(1);
      }
    }
    assertThat(Fds.openCount()).isEqualTo(fdsBefore);
  }

  @Test
  void descriptorsBeyondTheLimitAreClosedAndReported() throws Exception {
    int fdsBefore = Fds.openCount();
    UnixSocket[] pair = UnixSocket.pair();
    try (UnixSocket a = pair[0];
        UnixSocket b = pair[1];
        EventFd e1 = EventFd.create();
        EventFd e2 = EventFd.create();
        EventFd e3 = EventFd.create()) {
      Memory out = new Memory(1);
      out.setByte(0, (byte) 7);
      a.send(out, 1, e1.fd(), e2.fd(), e3.fd());
      UnixSocket.Received r = b.receive(new Memory(8), 0, 8, 1);
      assertThat(r.fds()).hasSize(1);
      assertThat(r.controlTruncated()).isTrue();
      Fds.closeAll(r.fds());
      // No descriptor was sent at all: nothing comes back and nothing is truncated.
      a.send(out, 1);
      UnixSocket.Received plain = b.receive(new Memory(8), 0, 8, 0);
      assertThat(plain.fds()).isEmpty();
      assertThat(plain.controlTruncated()).isFalse();
    }
    assertThat(Fds.openCount()).isEqualTo(fdsBefore);
  }

  @Test
  void unexpectedDescriptorIsClosedWhenNoneAllowed() throws Exception {
    int fdsBefore = Fds.openCount();
    UnixSocket[] pair = UnixSocket.pair();
    try (UnixSocket a = pair[0];
        UnixSocket b = pair[1];
        EventFd e1 = EventFd.create()) {
      Memory out = new Memory(1);
      a.send(out, 1, e1.fd());
      UnixSocket.Received r = b.receive(new Memory(8), 0, 8, 0);
      assertThat(r.fds()).isEmpty();
      assertThat(r.controlTruncated()).isTrue();
    }
    assertThat(Fds.openCount()).isEqualTo(fdsBefore);
  }

  @Test
  void listenAcceptConnectAndEndOfStream(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("s.sock");
    try (UnixSocket server = UnixSocket.listen(path, 1)) {
      assertThatThrownBy(() -> UnixSocket.listen(path, 1))
          .isInstanceOf(NativeException.class)
          .hasMessageContaining("bind(" + path + ")")
          .hasMessageContaining("EADDRINUSE");
      try (UnixSocket client = UnixSocket.connect(path);
          UnixSocket conn = server.accept()) {
        client.close();
        assertThat(conn.receive(new Memory(4), 0, 4, 0).endOfStream()).isTrue();
      }
    }
    Files.delete(path);
    assertThatThrownBy(() -> UnixSocket.connect(path))
        .isInstanceOf(NativeException.class)
        .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(Errno.ENOENT));
  }

  @Test
  void tooLongPathIsRefusedNamingTheLimit() {
    Path p = Path.of("/tmp/" + "x".repeat(120));
    assertThatThrownBy(() -> UnixSocket.connect(p))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sun_path");
  }

  @Test
  void memfdMapsSharedAtAnUnalignedOffset() throws Exception {
    int mapsBefore = Fds.mappingCount();
    try (OwnedFd memfd = MemFd.create("test", 3 * 4096)) {
      MemoryMapping whole = MemoryMapping.map(memfd.fd(), 0, 3 * 4096, true);
      MemoryMapping part = MemoryMapping.map(memfd.fd(), 4096 + 100, 200, true);
      try (whole;
          part) {
        com.sun.jna.Pointer w = new com.sun.jna.Pointer(whole.address());
        w.setLong(4096 + 100, 0xfeedfacecafebeefL);
        assertThat(new com.sun.jna.Pointer(part.address()).getLong(0))
            .isEqualTo(0xfeedfacecafebeefL);
      }
      assertThat(whole.isClosed()).isTrue();
    }
    assertThat(Fds.mappingCount()).isEqualTo(mapsBefore);
  }

  @Test
  void statReportsMemfdSizeAndType() throws Exception {
    try (OwnedFd memfd = MemFd.create("stat", 12345);
        EventFd e = EventFd.create()) {
      Fds.FileStat st = Fds.stat(memfd.fd());
      assertThat(st.size()).isEqualTo(12345);
      assertThat(st.isRegularFile()).isTrue();
      assertThat(Fds.stat(e.fd()).isRegularFile()).isFalse();
    }
  }

  @Test
  void nonBlockingDrainOfEmptyEventfdIsZero() throws Exception {
    try (EventFd e = EventFd.create(true)) {
      assertThat(e.drain(new Memory(8))).isZero();
    }
  }

  @Test
  void pollSeesReadableEventfdAndTimesOut() throws Exception {
    try (EventFd e = EventFd.create()) {
      PollSet p = new PollSet(1);
      p.set(0, e.fd(), PollSet.POLLIN);
      assertThat(p.poll(1, 0)).isZero();
      e.signal();
      p.set(0, e.fd(), PollSet.POLLIN);
      assertThat(p.poll(1, 1000)).isEqualTo(1);
      assertThat(p.readable(0)).isTrue();
    }
  }

  @Test
  void errorsNameTheCallAndErrno() {
    assertThatThrownBy(() -> Fds.close(1_000_000))
        .isInstanceOf(NativeException.class)
        .hasMessageContaining("close(fd 1000000)")
        .hasMessageContaining("EBADF")
        .hasMessageContaining("Bad file descriptor");
    assertThatThrownBy(() -> MemoryMapping.map(1_000_000, 0, 4096, true))
        .isInstanceOf(NativeException.class)
        .hasMessageContaining("mmap(fd 1000000")
        .hasMessageContaining("EBADF");
  }
}
