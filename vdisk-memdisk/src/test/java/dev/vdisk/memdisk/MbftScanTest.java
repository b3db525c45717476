package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
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
}
