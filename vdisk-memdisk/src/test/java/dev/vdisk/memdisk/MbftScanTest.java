package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import org.junit.jupiter.api.Test;

/** MEMDISKs the chain does not reach (spec §4 step 4, §5.7). */
class MbftScanTest {

  @Test
  void unhookedMemdiskIsReportedButNotExposedUnlessAsked() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.hookVector = false; // 0x4C still points at the BIOS
      md.writeTo(m);

      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks()).isEmpty();
      assertThat(r.memdisks()).singleElement().satisfies(x -> assertThat(x.inChain()).isFalse());
      assertThat(r.hooks())
          .singleElement()
          .satisfies(
              h -> {
                assertThat(h.inChain()).isFalse();
                assertThat(h.position()).isEqualTo(-1);
                assertThat(h.address()).isEqualTo(0x9F40A);
              });
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("not in the INT 13h hook chain"));

      ProbeResult asked =
          MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withIncludeDisconnected(true));
      assertThat(asked.disks())
          .singleElement()
          .satisfies(
              d -> {
                assertThat(d.origin()).isEqualTo("mBFT scan");
                assertThat(d.address()).isEqualTo(0x200000);
              });
      assertThat(MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withScanForMbft(false)).memdisks())
          .isEmpty();
    }
  }

  @Test
  void memdiskInTheChainIsNotFoundTwice() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      new SyntheticMemdisk().writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withIncludeDisconnected(true));
      assertThat(r.memdisks()).hasSize(1);
      assertThat(r.disks()).hasSize(1);
      assertThat(r.hooks()).hasSize(1);
    }
  }

  @Test
  void hookClaimedByWinVBlockIsFoundByTheScanWithAWarning() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.writeTo(m);
      m.putU8(md.hook() + 3, '!'); // what WinVBlock's scan path writes
      ProbeResult r = MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withIncludeDisconnected(true));
      assertThat(r.chainEnd().vector()).isEqualTo("9F40:000A");
      assertThat(r.disks()).hasSize(1);
      assertThat(r.memdisks().get(0).warnings()).anyMatch(w -> w.contains("'!INT13SF'"));
    }
  }

  @Test
  void scanFindsWithBadHooksAreRejected() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.hookVector = false;
      md.writeTo(m);
      SyntheticMemdisk.put(m, md.hook() + 11, "NOTMEMDI");
      assertThat(MemdiskProbe.probe(m).rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("vendor 'NOTMEMDI'"));
      SyntheticMemdisk.put(m, md.hook() + 11, "MEMDISK ");
      m.putU32(md.hook() + 27, 0x9F000);
      assertThat(MemdiskProbe.probe(m).rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("points at mBFT 0x9F000, not here"));
      m.putU32(md.hook() + 27, md.mbft());
      m.putU32(md.mbft() + 36, 0x7FFFFFFL);
      md.fixChecksum(m);
      // The back-pointer check of a scan find compares against the hook the table names itself.
      assertThat(MemdiskProbe.probe(m).rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("0x7FFFFFF is not in the image"));
    }
  }

  @Test
  void mbftWithBadChecksumFoundByScanIsRejectedOnce() {
    try (GuestMemory m = Images.pc(8 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.fixChecksum = false;
      md.writeTo(m);
      m.putU8(md.mbft() + 9, 0x55);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("checksum"));
    }
  }

  @Test
  void scanCoversConventionalMemoryInEveryRegionAndNothingElse() {
    // Two regions with a hole: [0, 0x60002) and [0x70000, 1 MiB). A bare "mBFT" is a scan find
    // that fails the length check, so the rejections list exactly the slots the scan examined.
    try (GuestMemory m =
        GuestMemory.of(
            MemoryRegion.allocate(0, 0x60002), MemoryRegion.allocate(0x70000, 0x90000))) {
      m.putU32(0x4C, Images.BIOS_INT13);
      long[] scanned = {0x500, 0x5FF00, 0x70000, 0x9FFF0};
      long[] notScanned = {0x4F0, 0x5FFF8, 0xA0000, 0xFFFF0};
      for (long a : scanned) {
        SyntheticMemdisk.put(m, a, "mBFT");
      }
      for (long a : notScanned) {
        SyntheticMemdisk.put(m, a, "mBFT"); // below 0x500, unaligned, VGA memory, ROM
      }
      SyntheticMemdisk.put(m, 0x60000, "mB"); // the other half would lie in the hole

      StrictMemory strict = new StrictMemory(m);
      ProbeResult r = MemdiskProbe.probe(strict);

      assertThat(strict.refused).isZero();
      assertThat(r.rejected())
          .extracting(Rejection::address)
          .containsExactly(0x500L, 0x5FF00L, 0x70000L, 0x9FFF0L);
      assertThat(r.rejected()).allSatisfy(x -> assertThat(x.reason()).contains("mBFT length 0"));
    }
  }

  @Test
  void aSignatureInEverySlotStopsTheScanAfter64Finds() {
    try (GuestMemory m = Images.pc(1 << 20)) {
      for (long a = 0x500; a < 0xA0000; a += 16) {
        SyntheticMemdisk.put(m, a, "mBFT");
      }
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.rejected()).hasSize(MbftScanner.MAX_FINDS + 1);
      assertThat(r.rejected().get(MbftScanner.MAX_FINDS))
          .satisfies(
              x -> {
                assertThat(x.address()).isEqualTo(0x500 + 16L * MbftScanner.MAX_FINDS);
                assertThat(x.reason()).contains("more than 64 'mBFT' signatures");
              });
    }
  }
}
