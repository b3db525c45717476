package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.PciHeader.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PciConfigSpaceTest {

  private static VirtioPciDevice fresh(PciProfile profile, BarWidth width) {
    return VirtioPciDevice.builder(FakeVirtioDevice.standard())
        .profile(profile)
        .barWidth(width)
        .build();
  }

  @Test
  void identityIsTheModernBlockFunctionRevisionOne() {
    VirtioPciDevice pci = fresh(PciProfile.DEFAULT, BarWidth.BITS_64);
    assertThat(pci.configRead(VENDOR_ID, 2)).isEqualTo(0x1AF4);
    assertThat(pci.configRead(DEVICE_ID, 2)).isEqualTo(0x1042);
    assertThat(pci.configRead(VENDOR_ID, 4)).isEqualTo(0x1042_1AF4L);
    assertThat(pci.configRead(REVISION_ID, 1)).isEqualTo(1);
    assertThat(pci.configRead(REVISION_ID, 4)).isEqualTo(0x0100_0001L); // class 01, sub 00, if 00
    assertThat(pci.configRead(HEADER_TYPE, 1)).isZero();
    assertThat(pci.configRead(SUBSYSTEM_VENDOR_ID, 2)).isEqualTo(0x1AF4);
    assertThat(pci.configRead(SUBSYSTEM_ID, 2)).isEqualTo(0x1100);
    assertThat(pci.configRead(INTERRUPT_PIN, 1)).isEqualTo(1);
    assertThat(pci.configRead(STATUS, 2) & STATUS_CAP_LIST).isNotZero();
    assertThat(pci.configRead(CAPABILITIES_POINTER, 1)).isEqualTo(0x40);
    assertThat(pci.configRead(EXPANSION_ROM, 4)).isZero();
    assertThat(pci.configRead(CARDBUS_CIS, 4)).isZero();
  }

  @Test
  void identityCannotBeChangedByWritesOrOptions() {
    VirtioPciDevice pci = fresh(PciProfile.AERO, BarWidth.BITS_64);
    pci.configWrite(VENDOR_ID, 4, 0x1234_5678);
    pci.configWrite(REVISION_ID, 4, 0);
    pci.configWrite(INTERRUPT_PIN, 1, 2);
    pci.configWrite(SUBSYSTEM_VENDOR_ID, 4, 0);
    assertThat(pci.configRead(VENDOR_ID, 4)).isEqualTo(0x1042_1AF4L);
    assertThat(pci.configRead(REVISION_ID, 1)).isEqualTo(1);
    assertThat(pci.configRead(INTERRUPT_PIN, 1)).isEqualTo(1);
    assertThat(pci.configRead(SUBSYSTEM_ID, 2)).isEqualTo(0x1100);
    assertThat(pci.counter(PciCounter.CONFIG_READ_ONLY_WRITE)).isEqualTo(4);
    VirtioPciDevice.Builder b = VirtioPciDevice.builder(FakeVirtioDevice.standard());
    assertThatThrownBy(() -> b.subsystemId(0x3F)).hasMessageContaining("0x3f");
    assertThatThrownBy(() -> b.subsystemId(0x10000)).isInstanceOf(IllegalArgumentException.class);
    assertThat(b.subsystemId(0x40).build().configRead(SUBSYSTEM_ID, 2)).isEqualTo(0x40);
  }

  @Test
  void refusesADeviceThatIsNotBlockOrNotModern() {
    FakeVirtioDevice net =
        new FakeVirtioDevice(1L << 32, 1, 256, 8) {
          @Override
          public int deviceId() {
            return 1;
          }
        };
    assertThatThrownBy(() -> VirtioPciDevice.builder(net).build())
        .hasMessageContaining("virtio device ID 1");
    FakeVirtioDevice legacy = new FakeVirtioDevice(1L << 9, 1, 256, 8);
    assertThatThrownBy(() -> VirtioPciDevice.builder(legacy).build())
        .hasMessageContaining("VERSION_1");
    FakeVirtioDevice odd = new FakeVirtioDevice(1L << 32, 1, 100, 8);
    assertThatThrownBy(() -> VirtioPciDevice.builder(odd).build())
        .hasMessageContaining("max queue size 100");
    FakeVirtioDevice big = new FakeVirtioDevice(1L << 32, 1, 256, 0x200);
    assertThatThrownBy(() -> VirtioPciDevice.builder(big).profile(PciProfile.AERO).build())
        .hasMessageContaining("device config size 512");
    FakeVirtioDevice many = new FakeVirtioDevice(1L << 32, 1025, 256, 8);
    assertThatThrownBy(() -> VirtioPciDevice.builder(many).msixVectors(0).build())
        .hasMessageContaining("queue count 1025");
  }

  record Cap(int at, int id, int len, int type, int bar, long offset, long length, long extra) {}

  static List<Cap> walk(VirtioPciDevice pci) {
    List<Cap> caps = new ArrayList<>();
    int p = (int) pci.configRead(CAPABILITIES_POINTER, 1);
    for (int guard = 0; p != 0 && guard < 48; guard++) {
      assertThat(p % 4).isZero();
      assertThat(p).isBetween(0x40, 0xFC);
      int id = (int) pci.configRead(p, 1);
      int next = (int) pci.configRead(p + 1, 1);
      if (id == CAP_ID_VENDOR) {
        caps.add(
            new Cap(
                p,
                id,
                (int) pci.configRead(p + 2, 1),
                (int) pci.configRead(p + 3, 1),
                (int) pci.configRead(p + 4, 1),
                pci.configRead(p + 8, 4),
                pci.configRead(p + 12, 4),
                pci.configRead(p + 16, 4)));
      } else {
        caps.add(
            new Cap(
                p,
                id,
                12,
                0,
                0,
                pci.configRead(p + 4, 4),
                pci.configRead(p + 8, 4),
                pci.configRead(p + 2, 2)));
      }
      assertThat(next).isNotEqualTo(p);
      p = next;
    }
    assertThat(p).as("capability list terminates").isZero();
    return caps;
  }

  @Test
  void aeroProfileHasTheContractLayout() {
    VirtioPciDevice pci =
        VirtioPciDevice.builder(new FakeVirtioDevice(1L << 32, 1, 128, 0x60))
            .profile(PciProfile.AERO)
            .build();
    List<Cap> caps = walk(pci);
    assertThat(caps)
        .extracting(Cap::at, Cap::id, Cap::type)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(0x40, 9, 1),
            org.assertj.core.groups.Tuple.tuple(0x50, 9, 2),
            org.assertj.core.groups.Tuple.tuple(0x64, 9, 3),
            org.assertj.core.groups.Tuple.tuple(0x74, 9, 4),
            org.assertj.core.groups.Tuple.tuple(0x84, 9, 5),
            org.assertj.core.groups.Tuple.tuple(0x98, 0x11, 0));
    Cap common = caps.get(0);
    Cap notify = caps.get(1);
    Cap isr = caps.get(2);
    Cap dev = caps.get(3);
    assertThat(common.bar()).isZero();
    assertThat(common.offset()).isEqualTo(0x0000);
    assertThat(common.length()).isGreaterThanOrEqualTo(0x100);
    assertThat(common.len()).isGreaterThanOrEqualTo(16);
    assertThat(notify.offset()).isEqualTo(0x1000);
    assertThat(notify.length()).isGreaterThanOrEqualTo(0x100);
    assertThat(notify.len()).isGreaterThanOrEqualTo(20);
    assertThat(notify.extra()).as("notify_off_multiplier").isEqualTo(4);
    assertThat(isr.offset()).isEqualTo(0x2000);
    assertThat(isr.length()).isGreaterThanOrEqualTo(0x20);
    assertThat(dev.offset()).isEqualTo(0x3000);
    assertThat(dev.length()).isGreaterThanOrEqualTo(0x100);
    Cap msix = caps.get(5);
    assertThat(msix.extra() & 0x7FF).as("table size - 1").isEqualTo(1);
    assertThat(msix.offset()).as("table offset|BIR").isEqualTo(0x3100);
    assertThat(msix.length()).as("PBA offset|BIR").isEqualTo(0x3120);
    // BAR0: 64-bit memory, non-prefetchable, size 0x4000.
    assertThat(pci.configRead(BAR0, 4) & 0xF).isEqualTo(BAR_MEM_TYPE_64);
    pci.configWrite(BAR0, 4, 0xFFFF_FFFFL);
    pci.configWrite(BAR0 + 4, 4, 0xFFFF_FFFFL);
    long mask = pci.configRead(BAR0, 4) | pci.configRead(BAR0 + 4, 4) << 32;
    assertThat(~(mask & ~0xFL) + 1).isEqualTo(0x4000);
    assertThat(pci.notifyRegion().queueOffset(0)).isEqualTo(0x1000);
  }

  @Test
  void defaultProfileFollowsQemusModernBar() {
    VirtioPciDevice pci = fresh(PciProfile.DEFAULT, BarWidth.BITS_64);
    List<Cap> caps = walk(pci);
    assertThat(caps.get(0).bar()).isEqualTo(4);
    assertThat(caps).extracting(Cap::offset).startsWith(0x0000L, 0x3000L, 0x1000L, 0x2000L);
    assertThat(caps.get(1).extra()).isEqualTo(4);
    BarLayout l = pci.layout();
    assertThat(l.msixTable().offset()).isEqualTo(0x4000);
    assertThat(l.msixPba().offset()).isEqualTo(0x4800);
    assertThat(l.size()).isEqualTo(0x8000);
    for (int bar = 0; bar < 6; bar++) {
      long v = pci.configRead(barOffset(bar), 4);
      assertThat(v).as("BAR%d", bar).isEqualTo(bar == 4 ? BAR_MEM_TYPE_64 : 0);
    }
  }

  @ParameterizedTest
  @EnumSource(PciProfile.class)
  void barSizingAndRelocation64(PciProfile profile) {
    VirtioPciDevice pci = fresh(profile, BarWidth.BITS_64);
    int lo = barOffset(profile.bar());
    long size = pci.layout().size();
    pci.configWrite(lo, 4, 0xFFFF_FFFFL);
    assertThat(pci.configRead(lo, 4)).isEqualTo((~(size - 1) & 0xFFFF_FFF0L) | BAR_MEM_TYPE_64);
    pci.configWrite(lo + 4, 4, 0xFFFF_FFFFL);
    assertThat(pci.configRead(lo + 4, 4)).isEqualTo(0xFFFF_FFFFL);
    // Other BARs are unimplemented: sizing reads 0.
    for (int bar = 0; bar < 6; bar++) {
      if (bar != profile.bar() && bar != profile.bar() + 1) {
        pci.configWrite(barOffset(bar), 4, 0xFFFF_FFFFL);
        assertThat(pci.configRead(barOffset(bar), 4)).as("BAR%d", bar).isZero();
      }
    }
    // Place above 4 GiB, then move it.
    pci.configWrite(lo, 4, 0x0010_0000);
    pci.configWrite(lo + 4, 4, 0x8);
    pci.configWrite(COMMAND, 2, COMMAND_MEMORY);
    assertThat(pci.barAddress()).isEqualTo(0x8_0010_0000L);
    long common0 = pci.mmioRead(0x8_0010_0000L + 0x12, 2); // num_queues
    assertThat(common0).isEqualTo(2);
    pci.configWrite(lo, 4, 0xC000_0000L);
    pci.configWrite(lo + 4, 4, 0);
    assertThat(pci.barAddress()).isEqualTo(0xC000_0000L);
    assertThat(pci.mmioRead(0xC000_0012L, 2)).isEqualTo(2);
    assertThat(pci.mmioRead(0x8_0010_0012L, 2)).isEqualTo(0xFFFF);
    assertThat(pci.counter(PciCounter.MMIO_UNCLAIMED)).isEqualTo(1);
    // Low bits are read-only: an unaligned base is truncated to the BAR size.
    pci.configWrite(lo, 4, 0xC000_1234L);
    assertThat(pci.barAddress()).isEqualTo(0xC000_0000L);
  }

  @Test
  void barSizing32BitForQemusProxy() {
    VirtioPciDevice pci = fresh(PciProfile.DEFAULT, BarWidth.BITS_32);
    int lo = barOffset(4);
    assertThat(pci.configRead(lo, 4)).isZero(); // type 00: 32-bit, non-prefetchable
    pci.configWrite(lo, 4, 0xFFFF_FFFFL);
    long mask = pci.configRead(lo, 4);
    assertThat(~(mask & ~0xFL) + 1 & 0xFFFF_FFFFL).isEqualTo(0x8000);
    pci.configWrite(lo + 4, 4, 0xFFFF_FFFFL);
    assertThat(pci.configRead(lo + 4, 4)).as("BAR5 unused").isZero();
    pci.configWrite(CARDBUS_CIS, 4, 0xFFFF_FFFFL);
    assertThat(pci.configRead(CARDBUS_CIS, 4)).isZero();
    assertThat(pci.counter(PciCounter.CONFIG_READ_ONLY_WRITE)).as("sizing is routine").isZero();
  }

  @Test
  void commandRegisterWritableBitsOnly() {
    VirtioPciDevice pci = fresh(PciProfile.DEFAULT, BarWidth.BITS_64);
    pci.configWrite(COMMAND, 2, 0xFFFF);
    assertThat(pci.configRead(COMMAND, 2))
        .isEqualTo(
            COMMAND_MEMORY
                | COMMAND_BUS_MASTER
                | COMMAND_PARITY
                | COMMAND_SERR
                | COMMAND_INTX_DISABLE);
    pci.configWrite(COMMAND, 2, 0);
    assertThat(pci.configRead(COMMAND, 2)).isZero();
    pci.configWrite(STATUS, 2, 0xFFFF); // RW1C bits do not exist here; nothing changes
    assertThat(pci.configRead(STATUS, 2)).isEqualTo(STATUS_CAP_LIST);
    pci.configWrite(INTERRUPT_LINE, 1, 11);
    pci.configWrite(CACHE_LINE_SIZE, 1, 16);
    assertThat(pci.configRead(INTERRUPT_LINE, 1)).isEqualTo(11);
    assertThat(pci.configRead(CACHE_LINE_SIZE, 1)).isEqualTo(16);
  }

  @Test
  void badConfigAccessesAreCountedAndHarmless() {
    VirtioPciDevice pci = fresh(PciProfile.DEFAULT, BarWidth.BITS_64);
    assertThat(pci.configRead(1, 2)).isEqualTo(0xFFFF); // unaligned
    assertThat(pci.configRead(2, 4)).isEqualTo(0xFFFF_FFFFL);
    assertThat(pci.configRead(0, 3)).isEqualTo(0xFF_FFFFL);
    assertThat(pci.configRead(0, 8)).isEqualTo(-1L);
    assertThat(pci.configRead(0x1000, 4)).isEqualTo(0xFFFF_FFFFL);
    assertThat(pci.configRead(-4, 4)).isEqualTo(0xFFFF_FFFFL);
    assertThat(pci.configRead(Integer.MAX_VALUE - 1, 2)).isEqualTo(0xFFFF);
    pci.configWrite(COMMAND + 1, 2, 0xFFFF);
    pci.configWrite(COMMAND, 0, 0xFFFF);
    assertThat(pci.configRead(COMMAND, 2)).isZero();
    assertThat(pci.counter(PciCounter.CONFIG_BAD_ACCESS)).isEqualTo(9);
    // Extended space: reads 0 ("no extended capabilities"), writes ignored, not errors.
    assertThat(pci.configRead(0x100, 4)).isZero();
    pci.configWrite(0x100, 4, 1);
    assertThat(pci.configRead(0xFFC, 4)).isZero();
    assertThat(pci.counter(PciCounter.CONFIG_BAD_ACCESS)).isEqualTo(9);
  }

  @Test
  void pciCfgWindowReachesTheRegistersWithoutTheBar() {
    try (Bench b = new Bench()) {
      VirtioPciDevice pci = b.pci;
      pci.configWrite(COMMAND, 2, 0); // decoding off: the window still works
      int cap = 0x84;
      assertThat(pci.configRead(cap + 3, 1)).isEqualTo(VirtioPciCap.TYPE_PCI_CFG);
      pci.configWrite(cap + 4, 1, 4); // bar
      pci.configWrite(cap + 8, 4, CommonCfg.NUM_QUEUES); // offset
      pci.configWrite(cap + 12, 4, 2); // length
      assertThat(pci.configRead(cap + 16, 4) & 0xFFFF).isEqualTo(2);
      // Write device_status = ACKNOWLEDGE through the window.
      pci.configWrite(cap + 8, 4, CommonCfg.DEVICE_STATUS);
      pci.configWrite(cap + 12, 4, 1);
      pci.configWrite(cap + 16, 4, CommonCfg.STATUS_ACKNOWLEDGE);
      assertThat(b.pci.stats().deviceStatus()).isEqualTo(CommonCfg.STATUS_ACKNOWLEDGE);
      // A read through the window has the ISR's read-to-clear side effect.
      b.pci.configWrite(COMMAND, 2, COMMAND_MEMORY | COMMAND_BUS_MASTER);
      b.bringUp(16);
      b.device.notifier.usedBuffers(0);
      pci.configWrite(cap + 8, 4, b.layout.isrCfg().offset());
      pci.configWrite(cap + 12, 4, 1);
      assertThat(pci.configRead(cap + 16, 1)).isEqualTo(1);
      assertThat(pci.stats().isr()).isZero();
      // Bad windows: length 3, unaligned, other BAR, outside every virtio structure.
      long before = pci.counter(PciCounter.PCI_CFG_BAD_ACCESS);
      pci.configWrite(cap + 12, 4, 3);
      pci.configRead(cap + 16, 4);
      pci.configWrite(cap + 12, 4, 4);
      pci.configWrite(cap + 8, 4, 2);
      pci.configRead(cap + 16, 4);
      pci.configWrite(cap + 8, 4, 0);
      pci.configWrite(cap + 4, 1, 0);
      pci.configRead(cap + 16, 4);
      pci.configWrite(cap + 4, 1, 4);
      pci.configWrite(cap + 8, 4, b.layout.msixTable().offset());
      pci.configRead(cap + 16, 4);
      pci.configWrite(cap + 8, 4, 0xFFFF_FFFCL);
      pci.configWrite(cap + 16, 4, 0);
      assertThat(pci.counter(PciCounter.PCI_CFG_BAD_ACCESS) - before).isEqualTo(5);
    }
  }

  @Test
  void layoutRulesHoldForEveryQueueAndVectorCount() {
    for (PciProfile p : PciProfile.values()) {
      for (int q : new int[] {1, 2, 7, 64, 65, 1024}) {
        for (int v : new int[] {0, 1, q + 1 > 2048 ? 2048 : q + 1, 2048}) {
          BarLayout l = BarLayout.of(p, BarWidth.BITS_64, q, v);
          assertThat(l.notifyCfg().length()).isGreaterThanOrEqualTo(4 * q);
          assertThat(l.size()).isGreaterThanOrEqualTo(0x4000);
        }
      }
    }
    assertThatThrownBy(() -> BarLayout.of(PciProfile.AERO, BarWidth.BITS_64, 1, 2049))
        .hasMessageContaining("2049");
  }
}
