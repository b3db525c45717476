package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import org.junit.jupiter.api.Test;

/** Every GRUB4DOS rejection of spec §9, each with the offending numbers in its reason. */
class Grub4DosRejectionTest {
  private static final long OK_START = 0x1000000 / 512;

  private static ProbeResult probe(long memSize, SyntheticGrub4Dos g) {
    try (GuestMemory m = Images.pc(memSize)) {
      g.writeTo(m);
      return MemdiskProbe.probe(m);
    }
  }

  private static SyntheticGrub4Dos withSlot(long start, long count) {
    return new SyntheticGrub4Dos().slot(0x80, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, start, count);
  }

  @Test
  void memdriveWithCountZero() {
    ProbeResult r = probe(32 << 20, withSlot(OK_START, 0));
    assertThat(r.disks()).isEmpty();
    assertThat(r.rejected())
        .singleElement()
        .satisfies(
            x -> {
              assertThat(x.subject()).isEqualTo("GRUB4DOS slot 0 (drive 0x80)");
              assertThat(x.reason()).contains("sector count 0");
            });
  }

  @Test
  void startOrEndOverflowing64Bits() {
    assertThat(probe(32 << 20, withSlot(-1L, 8)).rejected())
        .singleElement()
        .satisfies(
            x ->
                assertThat(x.reason())
                    .contains("start 18446744073709551615")
                    .contains("overflows"));
    assertThat(probe(32 << 20, withSlot(1L << 54, 1L << 54)).rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("overflows 64 bits"));
  }

  @Test
  void tableClaimingFourGibInASixteenMibDump() {
    ProbeResult r = probe(16 << 20, withSlot(OK_START, (4L << 30) / 512));
    assertThat(r.disks()).isEmpty();
    assertThat(r.rejected())
        .singleElement()
        .satisfies(
            x ->
                assertThat(x.reason())
                    .contains("[0x1000000, 0x101000000) is not wholly in the image"));
  }

  @Test
  void diskAt48MibInASixteenMibDump() {
    ProbeResult r = probe(16 << 20, withSlot((48L << 20) / 512, 2880));
    assertThat(r.rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("0x3000000"));
  }

  @Test
  void memdriveOverlappingTheIvtTheRomsOrTheResidentBlock() {
    assertThat(probe(32 << 20, withSlot(0, 2880)).rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("IVT/BDA"));
    assertThat(probe(32 << 20, withSlot(0xA0000 / 512, 16)).rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("0xA0000-0xFFFFF"));
    assertThat(probe(32 << 20, withSlot(0x9C000 / 512, 16)).rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("GRUB4DOS resident block at 0x9CC00"));
  }

  @Test
  void cdMemdriveWithoutOneWhole2048ByteSector() {
    ProbeResult r =
        probe(
            32 << 20,
            new SyntheticGrub4Dos().slot(0xFF, 0xFF, 0xFE, 0x3F, 0xA008, 0xFE, 0x7F, OK_START, 3));
    assertThat(r.rejected())
        .singleElement()
        .satisfies(x -> assertThat(x.reason()).contains("no whole 2048-byte sector"));
  }

  @Test
  void twoSlotsMappingTheSameDriveAreBothRefused() {
    SyntheticGrub4Dos g =
        withSlot(OK_START, 2048)
            .slot(0x80, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, OK_START * 2, 2048);
    ProbeResult r = probe(32 << 20, g);
    assertThat(r.disks()).isEmpty();
    assertThat(r.rejected())
        .hasSize(2)
        .allSatisfy(x -> assertThat(x.reason()).contains("slots 0 and 1 both map drive 0x80"));
  }

  @Test
  void overlappingMemdrivesAreBothRefusedUnlessAsked() {
    SyntheticGrub4Dos g =
        withSlot(OK_START, 4096)
            .slot(0x81, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, OK_START + 2048, 4096);
    ProbeResult r = probe(32 << 20, g);
    assertThat(r.disks()).isEmpty();
    assertThat(r.rejected())
        .hasSize(2)
        .allSatisfy(x -> assertThat(x.reason()).contains("overlaps"));
    try (GuestMemory m = Images.pc(32 << 20)) {
      g.writeTo(m);
      ProbeResult asked = MemdiskProbe.probe(m, ProbeOptions.DEFAULTS.withIncludeOverlapping(true));
      assertThat(asked.disks()).hasSize(2);
      assertThat(asked.warnings()).anyMatch(w -> w.contains("overlaps"));
    }
  }

  @Test
  void memdiskOverlappingAGrub4dosMemdriveAreBothRefused() {
    // MEMDISK (chained in front of GRUB4DOS) claims a floppy at 2 MiB; GRUB4DOS a hard disk that
    // starts inside it. Neither loader's data can be trusted there.
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0x80, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, (0x200000 + 0x10000) / 512, 4096)
          .writeTo(m);
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.segment = 0x9C00;
      md.oldDosMem = 627;
      md.prev = SyntheticMemdisk.vector(0x9CC0, 0x0100);
      md.writeTo(m);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.hooks()).extracting(HookInfo::kind).containsExactly("MEMDISK", "GRUB4DOS");
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected())
          .extracting(Rejection::reason)
          .containsExactlyInAnyOrder(
              "overlaps GRUB4DOS slot 0 (drive 0x80) memdrive at 0x210000",
              "overlaps MEMDISK disk at 0x200000 (MEMDISK hook 9C00:000A)");
    }
  }

  @Test
  void hookWhoseVectorOffsetIsNot0x100() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      withSlot(OK_START, 2048).writeTo(m);
      // Same linear address 0x9CD00 reached as 9C00:0D00: the table's place is ambiguous.
      m.putU32(0x4C, SyntheticMemdisk.vector(0x9C00, 0x0D00));
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks()).hasSize(1);
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("vector offset 0xD00"));
    }
  }

  @Test
  void blockTruncatedByTheImageOrInTheIvt() {
    try (GuestMemory m = Images.pc(0x9CD00 + 27)) {
      SyntheticMemdisk.put(m, 0x9CD03, "$INT13SF");
      SyntheticMemdisk.put(m, 0x9CD0B, "GRUB4DOS");
      m.putU32(0x9CD13, Images.BIOS_INT13);
      m.putU32(0x4C, SyntheticMemdisk.vector(0x9CC0, 0x100));
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("not in the image"));
    }
    try (GuestMemory m = Images.pc(1 << 20)) {
      SyntheticMemdisk.put(m, 0x603, "$INT13SF");
      SyntheticMemdisk.put(m, 0x60B, "GRUB4DOS");
      m.putU32(0x4C, SyntheticMemdisk.vector(0x0050, 0x100)); // block at 0x500..
      m.putU32(0x613, Images.BIOS_INT13);
      assertThat(MemdiskProbe.probe(m).rejected()).isEmpty();
      m.putU32(0x4C, SyntheticMemdisk.vector(0x0040, 0x100)); // block at 0x400: in the BDA
      SyntheticMemdisk.put(m, 0x503, "$INT13SF");
      SyntheticMemdisk.put(m, 0x50B, "GRUB4DOS");
      m.putU32(0x513, Images.BIOS_INT13);
      assertThat(MemdiskProbe.probe(m).rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("resident block at 0x400"));
    }
  }
}
