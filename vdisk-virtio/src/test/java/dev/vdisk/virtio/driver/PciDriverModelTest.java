package dev.vdisk.virtio.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.CommonCfg;
import dev.vdisk.virtio.pci.InterruptMode;
import dev.vdisk.virtio.pci.PciCounter;
import dev.vdisk.virtio.pci.PciFunction;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.PciTransportStats;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The driver model against the transport with a minimal blk device: both profiles with both driver
 * behaviours, the aerovblk refusals, MSI-X and INTx completion, multi-queue, resize and reset.
 */
class PciDriverModelTest {
  static final long RAM = 0x100000;
  static final long RAM_SIZE = 16 << 20;

  static final long AERO_SET = PciVirtioBlkDriver.AEROVBLK_FEATURES;
  static final long LINUX_SET =
      AERO_SET
          | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
          | 1L << PciVirtioBlkDriver.F_MQ
          | 1L << PciVirtioBlkDriver.F_GEOMETRY;

  /** Transport + device + driver wired together. */
  static final class Rig implements AutoCloseable {
    final GuestMemory memory = GuestMemory.allocate(RAM, RAM_SIZE);
    final InterruptLatch latch = new InterruptLatch();
    final MiniBlkDevice device;
    final VirtioPciDevice pci;
    final PciVirtioBlkDriver driver;

    Rig(
        MiniBlkDevice device,
        PciProfile profile,
        BarWidth width,
        DriverBehaviour behaviour,
        int queues) {
      this.device = device;
      this.pci =
          VirtioPciDevice.builder(device)
              .profile(profile)
              .barWidth(width)
              .interruptSink(latch)
              .guestMemory(memory)
              .build();
      this.driver = driver(pci, behaviour, queues);
    }

    PciVirtioBlkDriver driver(PciFunction f, DriverBehaviour behaviour, int queues) {
      return PciVirtioBlkDriver.builder(f, memory, latch)
          .behaviour(behaviour)
          .dmaArea(RAM + (8 << 20), 8 << 20)
          .queues(queues)
          .timeout(10, TimeUnit.SECONDS)
          .build();
    }

    @Override
    public void close() {
      memory.close();
    }
  }

  static MiniBlkDevice aeroDevice() {
    return new MiniBlkDevice(AERO_SET, 1, 128, 126, 1 << 20);
  }

  static MiniBlkDevice linuxDevice(int queues) {
    return new MiniBlkDevice(LINUX_SET, queues, 256, 254, 1 << 20);
  }

  static void readWriteRoundTrip(Rig rig, int queue) {
    readWriteRoundTrip(rig, rig.driver, queue);
  }

  static void readWriteRoundTrip(Rig rig, PciVirtioBlkDriver d, int queue) {
    byte[] data = new byte[3 * 4096 + 512];
    new Random(queue).nextBytes(data);
    assertThat(d.write(queue, 7, data)).isZero();
    assertThat(rig.device.disk).containsSubsequence(data);
    byte[] back = new byte[data.length];
    assertThat(d.read(queue, 7, back)).isZero();
    assertThat(back).isEqualTo(data);
    assertThat(d.flush(queue)).isZero();
    byte[] id = new byte[20];
    assertThat(d.getId(queue, id)).isZero();
    assertThat(new String(id, 0, 11, java.nio.charset.StandardCharsets.US_ASCII))
        .isEqualTo("mini-serial");
    assertThat(d.execute(queue, 99, 0, null, null)).isEqualTo(2); // UNSUPP
    assertThat(d.read(queue, (1 << 20) / 512, new byte[512])).isEqualTo(1); // beyond: IOERR
  }

  @ParameterizedTest
  @EnumSource(PciProfile.class)
  void aerovblkBehaviourOnBothProfiles(PciProfile profile) {
    try (Rig rig = new Rig(aeroDevice(), profile, BarWidth.BITS_64, DriverBehaviour.AEROVBLK, 1)) {
      if (profile == PciProfile.DEFAULT) {
        // aerovblk's strict mode refuses the QEMU-like layout (BAR4, ISR at 0x1000).
        assertThatThrownBy(rig.driver::initialize)
            .isInstanceOf(DriverRefusedException.class)
            .hasMessageContaining("BAR0");
        return;
      }
      PciVirtioBlkDriver d = rig.driver.initialize();
      assertThat(d.negotiatedFeatures()).isEqualTo(AERO_SET);
      assertThat(d.usesMsix()).isFalse();
      assertThat(d.queueCount()).isEqualTo(1);
      assertThat(d.capacity()).isEqualTo(2048);
      assertThat(d.segMax()).isEqualTo(126);
      readWriteRoundTrip(rig, 0);
      assertThat(rig.device.queue(0).errorCount(dev.vdisk.virtio.queue.QueueError.values()[0]))
          .isZero();
      assertThat(rig.pci.stats().interruptMode()).isEqualTo(InterruptMode.INTX);
      assertThat(rig.latch.intxAsserts()).isGreaterThanOrEqualTo(6);
      assertThat(rig.pci.stats().guestErrors()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(PciProfile.class)
  void linuxBehaviourOnBothProfilesWithMsixAndMultiQueue(PciProfile profile) {
    try (Rig rig = new Rig(linuxDevice(4), profile, BarWidth.BITS_64, DriverBehaviour.LINUX, 4)) {
      PciVirtioBlkDriver d = rig.driver.initialize();
      assertThat(d.usesMsix()).isTrue();
      assertThat(d.queueCount()).isEqualTo(4);
      assertThat(VirtioFeatures.has(d.negotiatedFeatures(), VirtioFeatures.RING_EVENT_IDX))
          .isTrue();
      for (int q = 0; q < 4; q++) {
        readWriteRoundTrip(rig, q);
      }
      PciTransportStats s = rig.pci.stats();
      assertThat(s.interruptMode()).isEqualTo(InterruptMode.MSIX);
      assertThat(s.counter(PciCounter.MSI_SENT)).isGreaterThanOrEqualTo(4 * 6);
      assertThat(rig.latch.strayMessages()).isZero();
      assertThat(rig.latch.intxAsserts()).isZero();
      assertThat(s.guestErrors()).isZero();
      // driver view equals device view
      DriverQueryInfo info = d.queryInfo();
      assertThat(info.interruptMode()).isEqualTo(s.interruptMode().aeroCode());
      assertThat(info.msixConfigVector()).isEqualTo(s.configVector());
      assertThat(info.msixQueue0Vector()).isEqualTo(s.queue0Vector());
      assertThat(info.messageCount()).isEqualTo(s.msixVectors());
      assertThat(info.negotiatedFeatures()).isEqualTo(s.negotiatedFeatures());
      assertThat(info.usedIdx()).isEqualTo(rig.device.queue(0).usedIdx());
      assertThat(info.availIdx()).isEqualTo(rig.device.queue(0).lastAvailIdx());
    }
  }

  @Test
  void linuxBehaviourFallsBackToIntxWithoutMsix() {
    MiniBlkDevice dev = linuxDevice(2);
    try (Rig rig = new Rig(dev, PciProfile.DEFAULT, BarWidth.BITS_32, DriverBehaviour.LINUX, 2)) {
      PciVirtioBlkDriver noMsix =
          PciVirtioBlkDriver.builder(rig.pci, rig.memory, rig.latch)
              .dmaArea(RAM + (8 << 20), 8 << 20)
              .queues(2)
              .msix(false)
              .build()
              .initialize();
      assertThat(noMsix.usesMsix()).isFalse();
      assertThat(noMsix.queueCount()).isEqualTo(2);
      readWriteRoundTrip(rig, noMsix, 1);
      readWriteRoundTrip(rig, noMsix, 0);
      assertThat(rig.pci.stats().interruptMode()).isEqualTo(InterruptMode.INTX);
      assertThat(rig.latch.intxAsserts()).isGreaterThanOrEqualTo(12);
      assertThat(noMsix.queryInfo().interruptMode()).isZero();
      assertThat(noMsix.queryInfo().messageCount()).isZero();
    }
  }

  @Test
  void aerovblkRefusesAnythingButItsContract() {
    // queue size other than 128
    MiniBlkDevice big = new MiniBlkDevice(AERO_SET, 1, 256, 126, 1 << 20);
    try (Rig rig = new Rig(big, PciProfile.AERO, BarWidth.BITS_64, DriverBehaviour.AEROVBLK, 1)) {
      assertThatThrownBy(rig.driver::initialize).hasMessageContaining("exactly 128");
    }
    // a required feature missing
    MiniBlkDevice noFlush = new MiniBlkDevice(AERO_SET & ~(1L << 9), 1, 128, 126, 1 << 20);
    try (Rig rig =
        new Rig(noFlush, PciProfile.AERO, BarWidth.BITS_64, DriverBehaviour.AEROVBLK, 1)) {
      assertThatThrownBy(rig.driver::initialize).hasMessageContaining("0x200");
      assertThat(rig.pci.stats().deviceStatus() & CommonCfg.STATUS_FAILED).isNotZero();
    }
    // a 32-bit BAR0
    try (Rig rig =
        new Rig(aeroDevice(), PciProfile.AERO, BarWidth.BITS_32, DriverBehaviour.AEROVBLK, 1)) {
      assertThatThrownBy(rig.driver::initialize).hasMessageContaining("64-bit memory BAR");
    }
  }

  /** A PCI function that lies about one config byte, to check the identity refusals. */
  static PciFunction lying(VirtioPciDevice real, int offset, int value) {
    return new PciFunction() {
      @Override
      public long configRead(int off, int size) {
        long v = real.configRead(off, size);
        if (offset >= off && offset < off + size) {
          int shift = 8 * (offset - off);
          v = (v & ~(0xFFL << shift)) | ((long) value << shift);
        }
        return v;
      }

      @Override
      public void configWrite(int off, int size, long v) {
        real.configWrite(off, size, v);
      }

      @Override
      public long barRead(int bar, long off, int size) {
        return real.barRead(bar, off, size);
      }

      @Override
      public void barWrite(int bar, long off, int size, long v) {
        real.barWrite(bar, off, size, v);
      }
    };
  }

  @Test
  void bothBehavioursRefuseOtherIdentities() {
    try (Rig rig =
        new Rig(aeroDevice(), PciProfile.AERO, BarWidth.BITS_64, DriverBehaviour.AEROVBLK, 1)) {
      for (DriverBehaviour b : DriverBehaviour.values()) {
        assertThatThrownBy(() -> rig.driver(lying(rig.pci, 0x08, 0x00), b, 1).initialize())
            .hasMessageContaining("REV_01");
        assertThatThrownBy(() -> rig.driver(lying(rig.pci, 0x08, 0x02), b, 1).initialize())
            .hasMessageContaining("revision 0x02");
        assertThatThrownBy(() -> rig.driver(lying(rig.pci, 0x02, 0x01), b, 1).initialize())
            .hasMessageContaining("DEV_1001");
      }
      assertThatThrownBy(
              () -> rig.driver(lying(rig.pci, 0x3D, 2), DriverBehaviour.AEROVBLK, 1).initialize())
          .hasMessageContaining("interrupt pin 2");
    }
  }

  @Test
  void resizeRaisesAConfigInterruptTheDriverCounts() {
    for (DriverBehaviour b : DriverBehaviour.values()) {
      try (Rig rig =
          new Rig(
              b == DriverBehaviour.AEROVBLK ? aeroDevice() : linuxDevice(1),
              PciProfile.AERO,
              BarWidth.BITS_64,
              b,
              1)) {
        PciVirtioBlkDriver d = rig.driver.initialize();
        rig.device.resize(1024);
        d.serviceInterrupts();
        assertThat(d.capacity()).isEqualTo(1024);
        assertThat(d.queryInfo().capacityChangeEvents()).isEqualTo(1);
        assertThat(rig.pci.stats().configChanges()).isEqualTo(1);
        readWriteRoundTrip(rig, 0);
      }
    }
  }

  @Test
  void resetMidFlightThenReinitialise() {
    try (Rig rig =
        new Rig(linuxDevice(1), PciProfile.DEFAULT, BarWidth.BITS_64, DriverBehaviour.LINUX, 1)) {
      PciVirtioBlkDriver d = rig.driver.initialize();
      long buf = d.bounceBuffer(0);
      int h = d.submit(0, PciVirtioBlkDriver.T_IN, 0, buf, 4096, true);
      assertThat(h).isGreaterThanOrEqualTo(0); // made available, never kicked
      d.resetDevice();
      assertThat(rig.pci.stats().deviceStatus()).isZero();
      d.initialize();
      readWriteRoundTrip(rig, 0);
    }
  }

  @Test
  void manyRequestsInFlightComplete() {
    try (Rig rig =
        new Rig(linuxDevice(1), PciProfile.DEFAULT, BarWidth.BITS_64, DriverBehaviour.LINUX, 1)) {
      PciVirtioBlkDriver d = rig.driver.initialize();
      long buf = d.bounceBuffer(0);
      int[] heads = new int[32];
      for (int i = 0; i < heads.length; i++) {
        heads[i] = d.submit(0, PciVirtioBlkDriver.T_IN, i, buf + 4096L * (i % 32), 4096, true);
      }
      d.kick(0);
      for (int h : heads) {
        assertThat(d.await(0, h)).isZero();
        assertThat(d.usedLenOf(0, h)).isEqualTo(4097);
      }
    }
  }
}
