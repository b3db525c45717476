package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import org.junit.jupiter.api.Test;

/** The INT 13h chain walk (spec §4): order, unknown vendors, cycles, hop limit, bad vectors. */
class HookChainTest {

  @Test
  void twoChainedMemdisksAreBothFoundInChainOrder() {
    try (GuestMemory m = Images.pc(16 << 20)) {
      SyntheticMemdisk outer = new SyntheticMemdisk();
      outer.segment = 0x9F40;
      outer.diskbuf = 0xA00000;
      outer.writeTo(m);
      SyntheticMemdisk inner = new SyntheticMemdisk();
      inner.segment = 0x9E80; // below the outer block
      inner.oldDosMem = 637;
      inner.prev = SyntheticMemdisk.vector(0x9F40, 0x000A);
      inner.diskbuf = 0x200000;
      inner.disksize = 8064;
      inner.driveno = 0x80;
      inner.cylinders = 8;
      inner.heads = 16;
      inner.sectors = 63;
      inner.writeTo(m);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.rejected()).isEmpty();
      assertThat(r.hooks()).extracting(HookInfo::vector).containsExactly("9E80:000A", "9F40:000A");
      assertThat(r.hooks()).extracting(HookInfo::position).containsExactly(0, 1);
      assertThat(r.disks()).extracting(MemoryDisk::address).containsExactly(0x200000L, 0xA00000L);
      assertThat(r.disks()).extracting(MemoryDisk::index).containsExactly(0, 1);
      assertThat(r.disks())
          .extracting(MemoryDisk::media)
          .containsExactly(Media.HARD_DISK, Media.FLOPPY);
    }
  }

  @Test
  void unknownVendorIsReportedAndTheWalkContinuesThroughIt() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.writeTo(m);
      long other = 0x9E000;
      m.putU8(other, 0xEB);
      SyntheticMemdisk.put(m, other + 3, "$INT13SF");
      m.write(other + 11, new byte[] {'V', 'E', 'N', 0, ',', 'X', (byte) 0x80, ' '}, 0, 8);
      m.putU32(other + 19, SyntheticMemdisk.vector(0x9F40, 0x000A));
      m.putU32(0x4C, SyntheticMemdisk.vector(0x9E00, 0));

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.hooks()).hasSize(2);
      HookInfo unknown = r.hooks().get(0);
      assertThat(unknown.kind()).isEqualTo("UNKNOWN");
      assertThat(unknown.vendor()).isEqualTo("VEN__X__");
      assertThat(unknown.vendorHex()).isEqualTo("56454E002C588020");
      assertThat(unknown.mbft()).isNull();
      assertThat(r.disks()).hasSize(1);
    }
  }

  @Test
  void hookWhosePrevIsItselfIsACycle() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.prev = SyntheticMemdisk.vector(0x9F40, 0x000A);
      md.writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).hasSize(1);
      assertThat(r.disks()).hasSize(1);
      assertThat(r.chainEnd().normal()).isFalse();
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("loops").contains("position 0"));
    }
  }

  @Test
  void aliasOfAnEarlierHookThroughAnotherSegmentIsACycle() {
    try (GuestMemory m = Images.pc(16 << 20)) {
      SyntheticMemdisk a = new SyntheticMemdisk();
      a.prev = SyntheticMemdisk.vector(0x9E80, 0x000A);
      a.writeTo(m);
      SyntheticMemdisk b = new SyntheticMemdisk();
      b.segment = 0x9E80;
      b.hookVector = false;
      b.diskbuf = 0x800000;
      b.prev = SyntheticMemdisk.vector(0x9F00, 0x040A); // = 0x9F40A, hook a, other seg:off
      b.oldDosMem = 637;
      b.writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).extracting(HookInfo::address).containsExactly(0x9F40AL, 0x9E80AL);
      assertThat(r.rejected()).anySatisfy(x -> assertThat(x.reason()).contains("9F00:040A"));
      assertThat(r.disks()).hasSize(2);
    }
  }

  @Test
  void seventeenHooksHitTheHopLimit() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      long prev = Images.BIOS_INT13;
      for (int i = 0; i < 20; i++) {
        long at = 0x80000 + i * 0x40L;
        SyntheticMemdisk.put(m, at + 3, "$INT13SF");
        SyntheticMemdisk.put(m, at + 11, "SOMEHOOK");
        m.putU32(at + 19, prev);
        prev = SyntheticMemdisk.vector((int) (at >>> 4), 0);
      }
      m.putU32(0x4C, prev);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).hasSize(16);
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("more than 16 hooks"));
      ProbeResult all = MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withHopLimit(20));
      assertThat(all.hooks()).hasSize(20);
      assertThat(all.chainEnd().normal()).isTrue();
    }
  }

  @Test
  void vectorIntoTheIvtOrAboveOneMibIsRefused() {
    try (GuestMemory m = Images.pc(2 << 20)) {
      m.putU32(0x4C, SyntheticMemdisk.vector(0x0000, 0x0100));
      ProbeResult low = MemdiskProbe.probe(m);
      assertThat(low.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("0000:0100 points into the IVT/BDA"));
      m.putU32(0x4C, SyntheticMemdisk.vector(0xFFFF, 0x0010));
      ProbeResult high = MemdiskProbe.probe(m);
      assertThat(high.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("FFFF:0010").contains("A20"));
    }
  }

  @Test
  void hookRunningOffTheImageEndsTheChain() {
    try (GuestMemory m = Images.pc(0x9F410)) {
      m.putU32(0x4C, SyntheticMemdisk.vector(0x9F40, 0x000A));
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).isEmpty();
      assertThat(r.chainEnd().reason()).contains("not in the image");
    }
  }

  @Test
  void truncatedMemdiskHookIsRejected() {
    // The 27 generic bytes fit, MEMDISK's 31 do not.
    try (GuestMemory m = Images.pc(0x9F40A + 29)) {
      long h = 0x9F40A;
      SyntheticMemdisk.put(m, h + 3, "$INT13SF");
      SyntheticMemdisk.put(m, h + 11, "MEMDISK ");
      m.putU32(0x4C, SyntheticMemdisk.vector(0x9F40, 0x000A));
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).hasSize(1);
      assertThat(r.hooks().get(0).mbft()).isNull();
      assertThat(r.rejected()).anySatisfy(x -> assertThat(x.reason()).contains("truncated"));
    }
  }

  @Test
  void imageWithoutIvtIsNotAMemoryImage() {
    try (GuestMemory m = GuestMemory.allocate(0x100000, 1 << 20)) {
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("not a PC memory image"));
    }
    try (GuestMemory m = GuestMemory.allocate(0, 0x4FF)) {
      assertThat(MemdiskProbe.probe(m).rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("not a PC memory image"));
    }
  }

  @Test
  void emptyBiosOnlyImageHasNoHooksAndNoComplaints() {
    try (GuestMemory m = Images.pc(1 << 20)) {
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).isEmpty();
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected()).isEmpty();
      assertThat(r.warnings()).isEmpty();
      assertThat(r.chainEnd().vector()).isEqualTo("F000:E3FE");
    }
  }
}
