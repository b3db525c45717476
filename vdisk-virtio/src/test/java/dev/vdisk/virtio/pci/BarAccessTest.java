package dev.vdisk.virtio.pci;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BarAccessTest {

  @Test
  void widthsOtherThan1248ReadAllOnesAndWriteNothing() {
    try (Bench b = new Bench()) {
      for (int size : new int[] {0, 3, 5, 6, 7, 9, 16, -1}) {
        assertThat(b.pci.barRead(b.bar, 0, size)).isEqualTo(VirtioPciDevice.ones(size));
        b.pci.barWrite(b.bar, CommonCfg.DEVICE_STATUS, size, 1);
      }
      assertThat(b.status()).isZero();
      assertThat(b.count(PciCounter.BAR_BAD_WIDTH)).isEqualTo(16);
      assertThat(VirtioPciDevice.ones(3)).isEqualTo(0xFF_FFFFL);
    }
  }

  @Test
  void otherBarsAndOffsetsBeyondTheBar() {
    try (Bench b = new Bench()) {
      assertThat(b.pci.barRead(0, 0, 4)).isEqualTo(0xFFFF_FFFFL);
      assertThat(b.pci.barRead(5, 0, 4)).isEqualTo(0xFFFF_FFFFL);
      assertThat(b.pci.barRead(-1, 0, 4)).isEqualTo(0xFFFF_FFFFL);
      assertThat(b.pci.barRead(b.bar, b.layout.size(), 1)).isEqualTo(0xFF);
      assertThat(b.pci.barRead(b.bar, b.layout.size() - 2, 4)).isEqualTo(0xFFFF_FFFFL);
      assertThat(b.pci.barRead(b.bar, -8, 8)).isEqualTo(-1L);
      assertThat(b.pci.barRead(b.bar, Long.MAX_VALUE, 8)).isEqualTo(-1L);
      b.pci.barWrite(7, CommonCfg.DEVICE_STATUS, 1, 1);
      b.pci.barWrite(b.bar, Long.MIN_VALUE, 1, 1);
      assertThat(b.count(PciCounter.BAR_OUT_OF_RANGE)).isEqualTo(9);
      assertThat(b.status()).isZero();
    }
  }

  @Test
  void decodingOffMeansNoAnswer() {
    try (Bench b = new Bench()) {
      b.pci.configWrite(PciHeader.COMMAND, 2, 0);
      assertThat(b.pci.barRead(b.bar, CommonCfg.NUM_QUEUES, 2)).isEqualTo(0xFFFF);
      b.pci.barWrite(b.bar, CommonCfg.DEVICE_STATUS, 1, 1);
      assertThat(b.count(PciCounter.BAR_DECODE_DISABLED)).isEqualTo(2);
      assertThat(b.pci.claims(Bench.BAR_BASE, 4)).isFalse();
      b.pci.configWrite(PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY);
      assertThat(b.status()).isZero();
      assertThat(b.pci.claims(Bench.BAR_BASE, 4)).isTrue();
      assertThat(b.pci.claims(Bench.BAR_BASE + b.layout.size() - 4, 8)).isFalse();
    }
  }

  @Test
  void gapsReadZeroAndStraddlesAreRefused() {
    try (Bench b = new Bench(FakeVirtioDevice.standard(), PciProfile.AERO, BarWidth.BITS_64)) {
      assertThat(b.pci.barRead(b.bar, 0x500, 4)).isZero(); // between common and notify
      b.pci.barWrite(b.bar, 0x500, 4, 1);
      assertThat(b.pci.barRead(b.bar, 0x3F00, 8)).isZero(); // after the PBA
      assertThat(b.count(PciCounter.BAR_GAP_ACCESS)).isEqualTo(3);
      // common cfg is 0x100 long: an 8-byte read at 0xFC crosses its end
      assertThat(b.pci.barRead(b.bar, 0xFC, 8)).isZero();
      b.pci.barWrite(b.bar, 0x2000 + 0x1E, 4, 0); // crosses ISR's end
      assertThat(b.count(PciCounter.REGISTER_BAD_ACCESS)).isEqualTo(2);
    }
  }

  @Test
  void mmioDecodesAbsoluteAddressesAgainstTheProgrammedBase() {
    try (Bench b = new Bench(FakeVirtioDevice.standard(), PciProfile.AERO, BarWidth.BITS_32)) {
      assertThat(b.pci.barAddress()).isEqualTo(Bench.BAR_BASE);
      assertThat(b.pci.mmioRead(Bench.BAR_BASE + CommonCfg.NUM_QUEUES, 2)).isEqualTo(2);
      b.pci.mmioWrite(Bench.BAR_BASE + CommonCfg.DEVICE_STATUS, 1, 1);
      assertThat(b.status()).isEqualTo(1);
      assertThat(b.pci.mmioRead(Bench.BAR_BASE - 2, 2)).isEqualTo(0xFFFF);
      b.pci.mmioWrite(Bench.BAR_BASE + b.layout.size(), 1, 1);
      assertThat(b.count(PciCounter.MMIO_UNCLAIMED)).isEqualTo(2);
      NotifyRegion n = b.pci.notifyRegion();
      assertThat(n).isEqualTo(new NotifyRegion(0, 0x1000, 0x100, 4, 2));
      assertThat(n.queueOffset(1)).isEqualTo(0x1004);
    }
  }
}
