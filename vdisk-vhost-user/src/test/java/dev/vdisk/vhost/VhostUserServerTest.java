package dev.vdisk.vhost;

import static dev.vdisk.vhost.VhostUserRequest.*;
import static dev.vdisk.vhost.testing.VhostUserTestClient.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.MemFd;
import dev.vdisk.vhost.natives.MemoryMapping;
import dev.vdisk.vhost.natives.OwnedFd;
import dev.vdisk.vhost.natives.UnixSocket;
import dev.vdisk.vhost.testing.FdCensus;
import dev.vdisk.vhost.testing.RecordingDevice;
import dev.vdisk.vhost.testing.VhostUserTestClient;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VhostUserServerTest {
  static final long GPA = 0x10_0000;
  static final long UVA = 0x7f00_0000_0000L;
  static final long RAM = 1 << 20;
  static final long PROTOCOL_FEATURES_FEATURE = 1L << 30;
  static final long FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1) | PROTOCOL_FEATURES_FEATURE;

  @TempDir Path dir;
  Path sock;
  RecordingDevice device;
  VhostUserServer server;
  final List<String> closeReasons = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws IOException {
    sock = dir.resolve("vu.sock");
    device = new RecordingDevice(2);
    server = startServer(true);
  }

  VhostUserServer startServer(boolean status) throws IOException {
    return VhostUserServer.builder(sock, device)
        .status(status)
        .connectionListener((n, peer, messages, reason) -> closeReasons.add(reason))
        .start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** GET/SET features and protocol features, SET_OWNER, as QEMU opens a connection. */
  static long handshake(VhostUserTestClient c, long protocolFeatures) throws IOException {
    long features = c.getU64(GET_FEATURES);
    assertThat(features & PROTOCOL_FEATURES_FEATURE).isNotZero();
    long offered = c.getU64(GET_PROTOCOL_FEATURES);
    long pf = offered & protocolFeatures;
    c.send(SET_PROTOCOL_FEATURES, 0, u64(pf));
    c.send(SET_OWNER, 0, new byte[0]);
    return offered;
  }

  static final long PF_REPLY_ACK_STATUS = (1 << 3) | (1 << 16) | (1 << 0) | (1 << 9);

  @Test
  void handshakeOffersWhatQemuNeeds() throws IOException {
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      long features = c.getU64(GET_FEATURES);
      assertThat(features).isEqualTo(RecordingDevice.FEATURES | PROTOCOL_FEATURES_FEATURE);
      long pf = handshake(c, PF_REPLY_ACK_STATUS);
      // MQ, REPLY_ACK, CONFIG, BACKEND_REQ, RESET_DEVICE, CONFIGURE_MEM_SLOTS, STATUS.
      assertThat(pf)
          .isEqualTo(
              (1L << 0) | (1L << 3) | (1L << 5) | (1L << 9) | (1L << 13) | (1L << 15) | (1L << 16));
      assertThat(c.getU64(GET_QUEUE_NUM)).isEqualTo(2);
      assertThat(c.sendAcked(SET_FEATURES, u64(FEATURES))).isZero();

      c.send(GET_CONFIG, 0, config(4, 8, 0, new byte[8]));
      Reply r = c.readReply(5000);
      assertThat(r.request()).isEqualTo(GET_CONFIG);
      assertThat(r.payload().getInt(0)).isEqualTo(4);
      assertThat(r.payload().getInt(4)).isEqualTo(8);
      for (int i = 0; i < 8; i++) {
        assertThat(r.payload().get(12 + i)).isEqualTo((byte) (0x14 + i));
      }
      assertThat(c.sendAcked(SET_CONFIG, config(0, 2, 0, new byte[] {1, 2}))).isZero();
      assertThat(device.config[0]).isEqualTo((byte) 1);
      assertThat(device.config[1]).isEqualTo((byte) 2);
    }
  }

  /** Guest RAM in a memfd, the client's own mapping of it, and vring 0 placed inside it. */
  static final class Guest implements AutoCloseable {
    final OwnedFd memfd;
    final MemoryMapping map;
    final EventFd kick0 = EventFd.create();
    final EventFd call0 = EventFd.create();
    final EventFd kick1 = EventFd.create();
    final EventFd call1 = EventFd.create();

    Guest() throws IOException {
      memfd = MemFd.create("vdisk-test-guest-ram", RAM);
      map = MemoryMapping.map(memfd.fd(), 0, RAM, true);
    }

    Pointer ram() {
      return new Pointer(map.address());
    }

    @Override
    public void close() {
      map.close();
      memfd.close();
      kick0.close();
      call0.close();
      kick1.close();
      call1.close();
    }
  }

  /** Memory table plus vring {@code q} at GPA + q * 0x10000 (desc, avail +0x1000, used +0x2000). */
  static void setUpRing(VhostUserTestClient c, Guest g, int q, EventFd kick, EventFd call)
      throws IOException {
    long at = q * 0x1_0000L;
    c.send(SET_VRING_NUM, 0, state(q, 256));
    c.send(SET_VRING_BASE, 0, state(q, 5));
    c.send(SET_VRING_ADDR, 0, vringAddr(q, 0, UVA + at, UVA + at + 0x2000, UVA + at + 0x1000));
    c.send(SET_VRING_KICK, 0, u64(q), kick.fd());
    c.send(SET_VRING_CALL, 0, u64(q), call.fd());
    c.send(SET_VRING_ENABLE, 0, state(q, 1));
  }

  static void setMemTable(VhostUserTestClient c, Guest g) throws IOException {
    assertThat(c.sendAcked(SET_MEM_TABLE, memTable(new Region(GPA, RAM, UVA, 0)), g.memfd.fd()))
        .isZero();
  }

  static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  @Test
  void driverOkStartsTheDeviceWithTranslatedRingsAndSharedMemory() throws IOException {
    try (Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS);
      assertThat(c.sendAcked(SET_FEATURES, u64(FEATURES))).isZero();
      setMemTable(c, g);
      setUpRing(c, g, 0, g.kick0, g.call0);
      assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();

      assertThat(device.activations).hasSize(1);
      RecordingDevice.Activation a = device.activations.get(0);
      assertThat(a.features()).isEqualTo(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
      assertThat(a.queues())
          .containsExactly(new QueueSetup(0, 256, GPA, GPA + 0x1000, GPA + 0x2000, 5, 5));
      // Zero-copy: what the VMM writes into its RAM, the device reads at the guest address.
      g.ram().setLong(0x1234, 0x0123456789abcdefL);
      assertThat(a.memory().u64(GPA + 0x1234)).isEqualTo(0x0123456789abcdefL);
      a.memory().putU32(GPA + 0x40, 0xcafef00dL);
      assertThat(g.ram().getInt(0x40)).isEqualTo(0xcafef00d);

      // The worker notifies once at start (pending buffers), then once per kick.
      await(() -> device.notified.get(0) >= 1, "initial notification");
      int before = device.notified.get(0);
      g.kick0.signal();
      await(() -> device.notified.get(0) > before, "kick to reach the device");
      device.notifier().usedBuffers(0);
      assertThat(awaitSignal(g.call0, 5000)).isTrue();
      assertThat(server.stats().calls()).isEqualTo(1);

      c.send(GET_VRING_BASE, 0, state(0, 0));
      Reply r = c.readReply(5000);
      assertThat(r.payload().getInt(0)).isZero();
      assertThat(r.payload().getInt(4)).isEqualTo(5 + 7);
      assertThat(device.stopped).containsExactly(0);
      assertThat(device.resets.get()).isEqualTo(1);
    }
  }

  @Test
  void withoutStatusTheDeviceStartsOnceTheFrontEndIsQuiet() throws IOException {
    try (Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, 1 << 3);
      c.send(SET_FEATURES, 0, u64(FEATURES));
      setMemTable(c, g);
      setUpRing(c, g, 0, g.kick0, g.call0);
      setUpRing(c, g, 1, g.kick1, g.call1);
      await(() -> device.activations.size() == 1, "activation after the quiet period");
      assertThat(device.activations.get(0).queues()).hasSize(2);
    }
  }

  @Test
  void aRingJoiningLaterRestartsTheDeviceAtTheStoppedIndices() throws IOException {
    try (Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS);
      c.send(SET_FEATURES, 0, u64(FEATURES));
      setMemTable(c, g);
      setUpRing(c, g, 0, g.kick0, g.call0);
      assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();
      setUpRing(c, g, 1, g.kick1, g.call1);
      await(() -> device.activations.size() == 2, "re-activation with both rings");
      List<QueueSetup> qs = device.activations.get(1).queues();
      assertThat(qs).extracting(QueueSetup::index).containsExactly(0, 1);
      // Ring 0 resumes where stopQueue left it (5 + 7), ring 1 at its SET_VRING_BASE.
      assertThat(qs.get(0).nextAvail()).isEqualTo(12);
      assertThat(qs.get(1).nextAvail()).isEqualTo(5);
      assertThat(device.resets.get()).isEqualTo(1);
    }
  }

  @Test
  void statusZeroStopsTheDeviceAndGetVringBaseReportsWhereItStopped() throws IOException {
    try (Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS);
      c.send(SET_FEATURES, 0, u64(FEATURES));
      setMemTable(c, g);
      setUpRing(c, g, 0, g.kick0, g.call0);
      assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();
      assertThat(c.sendAcked(SET_STATUS, u64(0))).isZero();
      assertThat(device.resets.get()).isEqualTo(1);
      c.send(GET_VRING_BASE, 0, state(0, 0));
      assertThat(c.readReply(5000).payload().getInt(4)).isEqualTo(12);
      assertThat(c.getU64(GET_STATUS)).isZero();
    }
  }

  @Test
  void reconnectAfterTheFrontEndLeavesResetsTheDeviceAndServesAgain() throws IOException {
    FdCensus before;
    try (Guest g = new Guest()) {
      try (VhostUserTestClient warmUp = VhostUserTestClient.connect(sock)) {
        handshake(warmUp, PF_REPLY_ACK_STATUS);
      }
      await(() -> closeReasons.size() == 1, "first close");
      before = FdCensus.take();
      try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
        handshake(c, PF_REPLY_ACK_STATUS);
        c.send(SET_FEATURES, 0, u64(FEATURES));
        setMemTable(c, g);
        setUpRing(c, g, 0, g.kick0, g.call0);
        assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();
      }
      await(() -> closeReasons.size() == 2, "second close");
      assertThat(closeReasons.get(1)).isEqualTo("front end closed the connection");
      assertThat(device.resets.get()).isEqualTo(1);
      assertThat(FdCensus.take()).isEqualTo(before);
      try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
        handshake(c, PF_REPLY_ACK_STATUS);
        setMemTable(c, g);
      }
    }
  }

  @Test
  void memoryTableRegionsAddedOneByOneAndRemoved() throws IOException {
    try (Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS | (1 << 15));
      assertThat(c.getU64(GET_MAX_MEM_SLOTS)).isEqualTo(32);
      Region low = new Region(GPA, RAM / 2, UVA, 0);
      Region high = new Region(GPA + RAM / 2, RAM / 2, UVA + RAM / 2, RAM / 2);
      assertThat(c.sendAcked(ADD_MEM_REG, singleRegion(low), g.memfd.fd())).isZero();
      assertThat(c.sendAcked(ADD_MEM_REG, singleRegion(high), g.memfd.fd())).isZero();
      c.send(SET_FEATURES, 0, u64(FEATURES));
      setUpRing(c, g, 0, g.kick0, g.call0);
      assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();
      var mem = device.activations.get(0).memory();
      assertThat(mem.regionCount()).isEqualTo(2);
      g.ram().setInt(RAM / 2 + 8, 77);
      assertThat(mem.u32(GPA + RAM / 2 + 8)).isEqualTo(77);
      // Removing the high half restarts the device over the low half alone.
      assertThat(c.sendAcked(REM_MEM_REG, singleRegion(high))).isZero();
      assertThat(device.activations).hasSize(2);
      assertThat(device.activations.get(1).memory().regionCount()).isEqualTo(1);
    }
  }

  @Test
  void configChangeIsSentOnTheBackendChannel() throws Exception {
    UnixSocket[] pair = UnixSocket.pair();
    try (UnixSocket ours = pair[0];
        UnixSocket theirs = pair[1];
        Guest g = new Guest();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS | (1 << 5));
      assertThat(c.sendAcked(SET_BACKEND_REQ_FD, new byte[0], theirs.fd())).isZero();
      c.send(SET_FEATURES, 0, u64(FEATURES));
      setMemTable(c, g);
      setUpRing(c, g, 0, g.kick0, g.call0);
      assertThat(c.sendAcked(SET_STATUS, u64(0xf))).isZero();
      device.notifier().configChanged();
      Memory m = new Memory(12);
      assertThat(ours.receive(m, 0, 12, 0).bytes()).isEqualTo(12);
      ByteBuffer b = m.getByteBuffer(0, 12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      assertThat(b.getInt(0)).isEqualTo(2); // CONFIG_CHANGE_MSG
      assertThat(b.getInt(4)).isEqualTo(1);
      assertThat(b.getInt(8)).isZero();
    }
  }

  @Test
  void aLiveServerPathIsRefusedAndAStaleOneTakenOver() throws IOException {
    assertThatThrownBy(() -> VhostUserServer.builder(sock, device).start())
        .hasMessage("socket path " + sock + " is in use by a live server");
    server.close();
    // A socket file nobody listens on any more (a killed server's leftover).
    UnixSocket.listen(sock, 1).close();
    assertThat(Files.exists(sock)).isTrue();
    server = startServer(true);
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      assertThat(c.getU64(GET_QUEUE_NUM)).isEqualTo(2);
    }
    Path file = dir.resolve("plain");
    Files.writeString(file, "x");
    assertThatThrownBy(() -> VhostUserServer.builder(file, device).start())
        .hasMessage(file + " exists and is not a socket; refusing to replace it");
  }

  @Test
  void stoppingWhileAMessageIsHalfReadIsAStopNotAProtocolError() throws Exception {
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      // A header announcing 8 payload bytes that never come: the session waits inside the message.
      c.sendRaw(message(SET_FEATURES, VERSION, 8, new byte[0]));
      Thread.sleep(300);
      server.close();
      assertThat(c.closedByPeer(5000)).isTrue();
    }
    assertThat(closeReasons).containsExactly("server stopping");
  }

  @Test
  void closeRemovesTheSocketAndStopsAConnectedSession() throws IOException {
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      handshake(c, PF_REPLY_ACK_STATUS);
      server.close();
      assertThat(c.closedByPeer(5000)).isTrue();
    }
    assertThat(Files.exists(sock)).isFalse();
    assertThat(closeReasons).containsExactly("server stopping");
  }
}
