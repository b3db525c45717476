package dev.vdisk.virtio.driver;

import static dev.vdisk.virtio.driver.PciVirtioBlkDriver.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.blk.BlkDeviceStats;
import dev.vdisk.virtio.blk.BlkQueueStatsSnapshot;
import dev.vdisk.virtio.blk.BlkRequestType;
import dev.vdisk.virtio.blk.Profile;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.PciCounter;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.PciTransportStats;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole stack in process: the real {@link VirtioBlkDevice} over a RAM disk, behind the PCI
 * transport, driven by the PCI driver model through registers only. Both transport profiles with
 * both driver behaviours; every request type; EVENT_IDX suppression; multi-queue on per-queue MSI-X
 * vectors; reset with requests in flight; a resize; and the aerovblk QUERY_INFO view compared with
 * the device's and the transport's.
 */
class PciBlkIntegrationTest {
  static final long RAM = 0x100000;
  static final long RAM_SIZE = 32 << 20;
  static final long DISK = 8 << 20;

  static final class Stack implements AutoCloseable {
    final GuestMemory memory = GuestMemory.allocate(RAM, RAM_SIZE);
    final InterruptLatch latch = new InterruptLatch();
    final RamDisk disk = RamDisk.create(DISK);
    final VirtioBlkDevice blk;
    final VirtioPciDevice pci;
    final PciVirtioBlkDriver driver;

    Stack(
        PciProfile profile,
        DriverBehaviour behaviour,
        UnaryOperator<VirtioBlkDevice.Builder> device,
        UnaryOperator<PciVirtioBlkDriver.Builder> driverOptions) {
      this(profile, BarWidth.BITS_64, behaviour, device, driverOptions, null);
    }

    Stack(
        PciProfile profile,
        BarWidth width,
        DriverBehaviour behaviour,
        UnaryOperator<VirtioBlkDevice.Builder> device,
        UnaryOperator<PciVirtioBlkDriver.Builder> driverOptions,
        BlockDevice backend) {
      this.blk = device.apply(VirtioBlkDevice.builder(backend != null ? backend : disk)).build();
      this.pci =
          VirtioPciDevice.builder(blk)
              .profile(profile)
              .barWidth(width)
              .interruptSink(latch)
              .guestMemory(memory)
              .queueRestart(blk::startQueue)
              .build();
      this.driver =
          driverOptions
              .apply(
                  PciVirtioBlkDriver.builder(pci, memory, latch)
                      .behaviour(behaviour)
                      .dmaArea(RAM + (16 << 20), 16 << 20)
                      .timeout(10, TimeUnit.SECONDS))
              .build();
    }

    @Override
    public void close() {
      memory.close();
    }
  }

  static Stream<Arguments> matrix() {
    return Stream.of(
        Arguments.of(PciProfile.AERO, DriverBehaviour.AEROVBLK),
        Arguments.of(PciProfile.AERO, DriverBehaviour.LINUX),
        Arguments.of(PciProfile.DEFAULT, DriverBehaviour.AEROVBLK),
        Arguments.of(PciProfile.DEFAULT, DriverBehaviour.LINUX));
  }

  /** The device's profile follows the transport's; aerovblk on DEFAULT needs 128-entry queues. */
  static Stack stackFor(PciProfile profile, DriverBehaviour behaviour) {
    return new Stack(
        profile,
        behaviour,
        b ->
            profile == PciProfile.AERO
                ? b.profile(Profile.AERO)
                : behaviour == DriverBehaviour.AEROVBLK ? b.queueSize(128) : b,
        d -> d.aeroStrictLayout(profile == PciProfile.AERO));
  }

  @ParameterizedTest(name = "{0} profile, {1} driver")
  @MethodSource("matrix")
  void bothProfilesWithBothBehaviours(PciProfile profile, DriverBehaviour behaviour) {
    try (Stack s = stackFor(profile, behaviour)) {
      PciVirtioBlkDriver d = s.driver.initialize();
      assertThat(d.capacity()).isEqualTo(DISK / 512);
      assertThat(d.usesMsix()).isEqualTo(behaviour == DriverBehaviour.LINUX);
      if (behaviour == DriverBehaviour.AEROVBLK) {
        assertThat(d.negotiatedFeatures()).isEqualTo(AEROVBLK_FEATURES);
      }
      byte[] data = new byte[64 * 1024];
      new Random(profile.ordinal() * 10 + behaviour.ordinal()).nextBytes(data);
      assertThat(d.write(0, 100, data)).isZero();
      byte[] back = new byte[data.length];
      assertThat(d.read(0, 100, back)).isZero();
      assertThat(back).isEqualTo(data);
      assertThat(d.flush(0)).isZero();
      byte[] id = new byte[20];
      assertThat(d.getId(0, id)).isZero();
      assertThat(d.execute(0, 0x7777, 0, null, null)).as("unknown type").isEqualTo(2);
      assertThat(d.read(0, DISK / 512 - 1, new byte[1024])).as("past the end").isEqualTo(1);
      compareQueryInfo(s);
      PciTransportStats t = s.pci.stats();
      assertThat(t.guestErrors()).as("a well-behaved driver breaks no rule").isZero();
      assertThat(s.blk.stats().internalErrors()).isZero();
      // In flight: aerovblk uses one ring descriptor per request (an indirect table), Linux one
      // per buffer (header + 4 page segments + status).
      int head = d.submit(0, T_IN, 0, d.bounceBuffer(0), 4 * 4096, true);
      DriverQueryInfo pending = d.queryInfo();
      int perRequest = behaviour == DriverBehaviour.AEROVBLK ? 1 : 6;
      assertThat(pending.queueSize() - pending.numFree()).isEqualTo(perRequest);
      d.kick(0);
      assertThat(d.await(0, head)).isZero();
      compareQueryInfo(s);
    }
  }

  @Test
  void aerovblkStrictModeRefusesTheDefaultLayout() {
    try (Stack s =
        new Stack(PciProfile.DEFAULT, DriverBehaviour.AEROVBLK, b -> b.queueSize(128), d -> d)) {
      assertThatThrownBy(s.driver::initialize)
          .isInstanceOf(DriverRefusedException.class)
          .hasMessageContaining("BAR0");
    }
  }

  @Test
  void aerovblkRefusesTheDefaultDeviceProfilesQueueSize() {
    try (Stack s = new Stack(PciProfile.AERO, DriverBehaviour.AEROVBLK, b -> b, d -> d)) {
      assertThatThrownBy(s.driver::initialize).hasMessageContaining("exactly 128");
    }
  }

  /** The aerovblk QUERY_INFO quantities: driver view == device view == transport view. */
  static void compareQueryInfo(Stack s) {
    DriverQueryInfo drv = s.driver.queryInfo();
    BlkDeviceStats dev = s.blk.stats();
    BlkQueueStatsSnapshot q0 = dev.queue(0);
    PciTransportStats pci = s.pci.stats();
    assertThat(drv.negotiatedFeatures())
        .isEqualTo(dev.negotiatedFeatures())
        .isEqualTo(pci.negotiatedFeatures());
    assertThat(drv.queueSize()).isEqualTo(q0.size());
    assertThat(drv.availIdx()).isEqualTo(q0.lastAvailIdx()).isEqualTo(q0.nextAvail());
    assertThat(drv.usedIdx()).isEqualTo(q0.usedIdx());
    assertThat(drv.queueSize() - drv.numFree()).as("in flight").isEqualTo(q0.inFlight());
    assertThat(drv.interruptMode()).isEqualTo(pci.interruptMode().aeroCode());
    assertThat(drv.msixConfigVector()).isEqualTo(pci.configVector());
    assertThat(drv.msixQueue0Vector()).isEqualTo(pci.queue0Vector());
    if (drv.interruptMode() == 1) {
      assertThat(drv.messageCount()).isEqualTo(pci.msixVectors());
    }
    assertThat(drv.capacityChangeEvents())
        .isEqualTo(dev.configChanges())
        .isEqualTo(pci.configChanges());
  }

  @Test
  void everyRequestTypeThroughTheDriverModel() {
    try (Stack s =
        new Stack(
            PciProfile.DEFAULT,
            DriverBehaviour.LINUX,
            b ->
                b.discard(true)
                    .writeZeroes(true)
                    .secureErase(true)
                    .lifetime(1, 2, 3)
                    .serial("vdisk-serial-0123456"),
            d -> d)) {
      PciVirtioBlkDriver d = s.driver.initialize();
      long neg = d.negotiatedFeatures();
      assertThat(VirtioFeatures.has(neg, F_DISCARD)).isTrue();
      assertThat(VirtioFeatures.has(neg, F_WRITE_ZEROES)).isTrue();
      assertThat(VirtioFeatures.has(neg, F_SECURE_ERASE)).isTrue();
      byte[] ones = new byte[8192];
      Arrays.fill(ones, (byte) 0x5A);
      assertThat(d.write(0, 0, ones)).isZero();
      // WRITE_ZEROES with UNMAP, then the range reads zero
      assertThat(d.rangeCommand(0, T_WRITE_ZEROES, 0, 8, 1)).isZero();
      byte[] back = new byte[4096];
      assertThat(d.read(0, 0, back)).isZero();
      assertThat(back).containsOnly(0);
      // DISCARD; DISCARD with UNMAP is UNSUPP; unknown flags UNSUPP
      assertThat(d.rangeCommand(0, T_DISCARD, 8, 8, 0)).isZero();
      assertThat(d.rangeCommand(0, T_DISCARD, 8, 8, 1)).isEqualTo(2);
      assertThat(d.rangeCommand(0, T_WRITE_ZEROES, 8, 8, 2)).isEqualTo(2);
      // SECURE_ERASE
      assertThat(d.write(0, 32, ones)).isZero();
      assertThat(d.rangeCommand(0, T_SECURE_ERASE, 32, 16, 0)).isZero();
      assertThat(d.read(0, 32, back)).isZero();
      assertThat(back).containsOnly(0);
      // a range past the end: IOERR
      assertThat(d.rangeCommand(0, T_DISCARD, DISK / 512 - 1, 8, 0)).isEqualTo(1);
      // GET_ID, GET_LIFETIME
      byte[] id = new byte[20];
      assertThat(d.getId(0, id)).isZero();
      assertThat(new String(id, StandardCharsets.US_ASCII)).isEqualTo("vdisk-serial-0123456");
      // Linux does not negotiate LIFETIME: the device answers UNSUPP
      byte[] life = new byte[6];
      assertThat(d.execute(0, T_GET_LIFETIME, 0, null, life)).isEqualTo(2);
      assertThat(d.flush(0)).isZero();
      // legacy SCSI: UNSUPP
      assertThat(d.execute(0, 2, 0, null, null)).isEqualTo(2);
      BlkQueueStatsSnapshot q = s.blk.stats().queue(0);
      assertThat(q.requests(BlkRequestType.STAT_DISCARD)).isEqualTo(3);
      assertThat(q.requests(BlkRequestType.STAT_WRITE_ZEROES)).isEqualTo(2);
      assertThat(q.requests(BlkRequestType.STAT_SECURE_ERASE)).isEqualTo(1);
      assertThat(q.requests(BlkRequestType.STAT_GET_LIFETIME)).isEqualTo(1);
      assertThat(s.pci.stats().guestErrors()).isZero();
    }
  }

  @Test
  void getLifetimeWhenTheDriverAcceptsIt() {
    try (Stack s =
        new Stack(
            PciProfile.AERO,
            DriverBehaviour.LINUX,
            b -> b.lifetime(1, 2, 3),
            d -> d.extraFeatures(1L << F_LIFETIME))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      assertThat(VirtioFeatures.has(d.negotiatedFeatures(), F_LIFETIME)).isTrue();
      byte[] life = new byte[6];
      assertThat(d.execute(0, T_GET_LIFETIME, 0, null, life)).isZero();
      assertThat(life).containsExactly(1, 0, 2, 0, 3, 0);
    }
  }

  @Test
  void eventIdxSuppressesInterruptsAndKicks() {
    try (Stack s = new Stack(PciProfile.DEFAULT, DriverBehaviour.LINUX, b -> b, d -> d)) {
      PciVirtioBlkDriver d = s.driver.initialize();
      assertThat(VirtioFeatures.has(d.negotiatedFeatures(), VirtioFeatures.RING_EVENT_IDX))
          .isTrue();
      long buf = d.bounceBuffer(0);
      int n = 32;
      int[] heads = new int[n];
      for (int i = 0; i < n; i++) {
        heads[i] = d.submit(0, T_IN, i * 8L, buf + 4096L * i, 4096, true);
      }
      long msiBefore = s.pci.counter(PciCounter.MSI_SENT);
      assertThat(d.kick(0)).isTrue();
      for (int h : heads) {
        assertThat(d.await(0, h)).isZero();
      }
      long msis = s.pci.counter(PciCounter.MSI_SENT) - msiBefore;
      BlkQueueStatsSnapshot q = s.blk.stats().queue(0);
      assertThat(msis).as("one batch, one interrupt").isEqualTo(1);
      assertThat(q.interruptsSent()).isEqualTo(msis + 0);
      // The driver suppresses interrupts: the device completes without any.
      d.ring(0).disableInterrupts();
      int h = d.submit(0, T_IN, 0, buf, 4096, true);
      d.kick(0);
      assertThat(s.pci.counter(PciCounter.MSI_SENT) - msiBefore).isEqualTo(1);
      assertThat(s.blk.stats().queue(0).interruptsSuppressed()).isPositive();
      // re-enabling finds the pending completion (the re-arm race Linux guards against)
      assertThat(d.ring(0).enableInterrupts()).isTrue();
      assertThat(d.ring(0).pollUsed()).isEqualTo(h);
      assertThat(d.ring(0).enableInterrupts()).isFalse(); // re-arm at the new used index
      // the device asks for a kick only when it wants one (avail_event): a second submit before
      // the device re-arms still kicks, and none is lost
      int k1 = d.submit(0, T_IN, 0, buf, 512, true);
      d.kick(0);
      assertThat(d.await(0, k1)).isZero();
      assertThat(s.pci.stats().guestErrors()).isZero();
    }
  }

  @Test
  void multiQueueUsesOneMsixVectorPerQueue() {
    try (Stack s =
        new Stack(PciProfile.DEFAULT, DriverBehaviour.LINUX, b -> b.queues(4), d -> d.queues(4))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      assertThat(d.queueCount()).isEqualTo(4);
      assertThat(s.pci.stats().queueVectors()).containsExactly(1, 2, 3, 4);
      byte[] block = new byte[4096];
      for (int q = 0; q < 4; q++) {
        Arrays.fill(block, (byte) (q + 1));
        assertThat(d.write(q, q * 8L, block)).isZero();
      }
      for (int q = 0; q < 4; q++) {
        byte[] back = new byte[4096];
        assertThat(d.read((q + 1) % 4, q * 8L, back)).isZero();
        assertThat(back).containsOnly(q + 1);
      }
      BlkDeviceStats st = s.blk.stats();
      for (int q = 0; q < 4; q++) {
        assertThat(st.queue(q).requests(BlkRequestType.STAT_IN)).isEqualTo(1);
        assertThat(st.queue(q).requests(BlkRequestType.STAT_OUT)).isEqualTo(1);
      }
      assertThat(s.latch.strayMessages()).isZero();
    }
  }

  @Test
  void resetWithRequestsInFlightThenBringUpAgain() {
    RamDisk ram = RamDisk.create(DISK);
    HeldAsyncDisk held = new HeldAsyncDisk(ram);
    try (Stack s =
        new Stack(
            PciProfile.AERO,
            BarWidth.BITS_64,
            DriverBehaviour.AEROVBLK,
            b -> b.profile(Profile.AERO).resetDrainTimeout(Duration.ofMillis(50)),
            d -> d,
            held)) {
      PciVirtioBlkDriver d = s.driver.initialize();
      long buf = d.bounceBuffer(0);
      int a = d.submit(0, T_IN, 0, buf, 4096, true);
      int b = d.submit(0, T_OUT, 8, buf + 4096, 4096, false);
      d.kick(0);
      assertThat(held.held()).isEqualTo(2);
      assertThat(s.blk.stats().queue(0).inFlight()).isEqualTo(2);
      d.resetDevice(); // the device abandons them after its drain timeout
      assertThat(s.pci.stats().deviceStatus()).isZero();
      assertThat(held.release()).isEqualTo(2); // late completions: dropped, rings untouched
      assertThat(d.isDone(0, a) || d.isDone(0, b)).isFalse();
      assertThat(d.ring(0).usedIdx()).isZero();
      assertThat(s.blk.stats().lateCompletions()).isEqualTo(2);
      d.initialize();
      byte[] data = new byte[4096];
      Arrays.fill(data, (byte) 7);
      Thread releaser =
          new Thread(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  if (held.release() == 0) {
                    Thread.onSpinWait();
                  }
                }
              });
      releaser.start();
      try {
        assertThat(d.write(0, 8, data)).isZero();
        byte[] back = new byte[4096];
        assertThat(d.read(0, 8, back)).isZero();
        assertThat(back).isEqualTo(data);
      } finally {
        releaser.interrupt();
      }
      assertThat(s.blk.stats().internalErrors()).isZero();
    }
  }

  @Test
  void resizeIsSeenByTheDriverThroughAConfigInterrupt() {
    for (DriverBehaviour behaviour : DriverBehaviour.values()) {
      try (Stack s = stackFor(PciProfile.AERO, behaviour)) {
        PciVirtioBlkDriver d = s.driver.initialize();
        int genBefore = s.pci.stats().configGeneration();
        s.disk.resize(DISK * 2);
        assertThat(d.serviceInterrupts()).isPositive();
        assertThat(d.capacity()).isEqualTo(DISK * 2 / 512);
        assertThat(s.pci.stats().configGeneration()).isNotEqualTo(genBefore);
        compareQueryInfo(s);
        assertThat(d.queryInfo().capacityChangeEvents()).isEqualTo(1);
        assertThat(d.write(0, DISK / 512 + 8, new byte[512])).as("the new space").isZero();
      }
    }
  }

  @Test
  void ringResetRestartsOneQueue() {
    try (Stack s =
        new Stack(
            PciProfile.DEFAULT,
            DriverBehaviour.LINUX,
            b -> b.queues(2).ringReset(true),
            d -> d.queues(2))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      assertThat(VirtioFeatures.has(d.negotiatedFeatures(), VirtioFeatures.RING_RESET)).isTrue();
      assertThat(d.write(1, 0, new byte[512])).isZero();
      // queue_reset of queue 1 through the registers, then set it up again
      s.pci.barWrite(4, 0x16, 2, 1);
      s.pci.barWrite(4, 0x3A, 2, 1);
      assertThat(s.pci.barRead(4, 0x1C, 2)).isZero();
      assertThat(s.blk.stats().queue(1).running()).isFalse();
      assertThat(d.write(0, 0, new byte[512])).as("queue 0 unaffected").isZero();
      // Set queue 1 up again as Linux's virtio_pci_modern_enable_vq_after_reset does: same rings
      // (fresh indices), same vector, enable. The device restarts it at index 0.
      SplitRingDriver ring1 = d.ring(1);
      int vector = s.pci.stats().queueVectors().get(1);
      ring1.reset();
      s.pci.barWrite(4, 0x16, 2, 1);
      assertThat(s.pci.barRead(4, 0x18, 2)).isEqualTo(ring1.size());
      s.pci.barWrite(4, 0x1A, 2, vector);
      long[] addrs = {ring1.descAddr(), ring1.availAddr(), ring1.usedAddr()};
      for (int i = 0; i < 3; i++) {
        s.pci.barWrite(4, 0x20 + 8 * i, 4, addrs[i] & 0xFFFF_FFFFL);
        s.pci.barWrite(4, 0x24 + 8 * i, 4, addrs[i] >>> 32);
      }
      s.pci.barWrite(4, 0x1C, 2, 1);
      assertThat(s.pci.barRead(4, 0x1C, 2)).isEqualTo(1);
      assertThat(s.blk.stats().queue(1).running()).isTrue();
      byte[] data = new byte[4096];
      Arrays.fill(data, (byte) 0x3C);
      assertThat(d.write(1, 16, data)).as("queue 1 after its reset").isZero();
      byte[] back = new byte[4096];
      assertThat(d.read(1, 16, back)).isZero();
      assertThat(back).isEqualTo(data);
      assertThat(s.blk.stats().queue(1).usedIdx()).isEqualTo(2);
      assertThat(s.pci.stats().guestErrors()).isZero();
    }
  }
}
