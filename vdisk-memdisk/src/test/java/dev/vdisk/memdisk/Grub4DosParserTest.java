package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import org.junit.jupiter.api.Test;

/**
 * GRUB4DOS blocks synthesized as spec §10 describes (0.4.5c layout, slots as observed on real
 * dumps), checked field by field against spec §6 and WinVBlock's {@code grub4dos.h} slot layout.
 */
class Grub4DosParserTest {
  static final long FLOPPY_AT = 0x1E78000; // observed address of a floppy memdrive
  static final long HD_AT = 0x200000;
  static final long CD_AT = 0x1800000;

  @Test
  void observedFloppyHardDiskAndCdSlotsAndARealDriveMap() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      SyntheticGrub4Dos g = new SyntheticGrub4Dos();
      g.slot(0x00, 0xFF, 0x01, 0x12, 0x8808, 0xFE, 0x7F, FLOPPY_AT / 512, 2880)
          .slot(0x81, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, HD_AT / 512, 32768)
          .slot(0xFF, 0xFF, 0xFE, 0x3F, 0xA008, 0xFE, 0x7F, CD_AT / 512, 1000)
          .slot(0x82, 0x80, 0x00, 0x01, 0x0000, 0x00, 0x00, 0, 0) // map (hd0) (hd2)
          .writeTo(m);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.rejected()).isEmpty();
      assertThat(r.hooks())
          .singleElement()
          .satisfies(
              h -> {
                assertThat(h.kind()).isEqualTo("GRUB4DOS");
                assertThat(h.vector()).isEqualTo("9CC0:0100");
                assertThat(h.address()).isEqualTo(0x9CD00);
                assertThat(h.flags()).isEqualTo(1);
                assertThat(h.mbft()).isNull();
              });
      Grub4DosInfo info = r.grub4dos().get(0);
      assertThat(info.hookAddress()).isEqualTo(0x9CD00);
      assertThat(info.blockAddress()).isEqualTo(0x9CC00);
      assertThat(info.tableAddress()).isEqualTo(0x9CC20);
      assertThat(info.blockKib()).isEqualTo(12);
      assertThat(info.cdromCount()).isZero();
      assertThat(info.cdromBaseDrive()).isEqualTo(0xC0);
      assertThat(info.g4dsSignature()).isTrue();
      assertThat(info.headerVersion()).isEqualTo(1);
      assertThat(info.equipmentByte()).isEqualTo(0x41);
      assertThat(info.hardDiskCount()).isZero();
      assertThat(info.oldInt13()).isEqualTo("F000:E3FE");
      assertThat(info.oldInt15()).isEqualTo("F000:F859");
      assertThat(info.warnings()).isEmpty();
      assertThat(info.slots()).hasSize(4);

      var fd = info.slots().get(0);
      assertThat(fd.slot()).isZero();
      assertThat(fd.fromDrive()).isZero();
      assertThat(fd.toDrive()).isEqualTo(0xFF);
      assertThat(fd.maxHead()).isEqualTo(1);
      assertThat(fd.maxSector()).isEqualTo(0x12);
      assertThat(fd.toCylinder()).isEqualTo(0x8808);
      assertThat(fd.toHead()).isEqualTo(0xFE);
      assertThat(fd.toSector()).isEqualTo(0x7F);
      assertThat(fd.startSector()).isEqualTo(FLOPPY_AT / 512);
      assertThat(fd.sectorCount()).isEqualTo(2880);
      assertThat(fd.memory()).isTrue();
      assertThat(fd.fromCdrom()).isFalse();
      assertThat(fd.toCdrom()).isFalse();
      assertThat(fd.lbaDisabled()).isFalse();
      assertThat(fd.inSitu()).isFalse();
      assertThat(fd.restriction()).isEqualTo("safe-boot");

      var real = info.slots().get(3);
      assertThat(real.memory()).isFalse();
      assertThat(real.fromDrive()).isEqualTo(0x82);
      assertThat(real.toDrive()).isEqualTo(0x80);
      assertThat(real.restriction()).isEqualTo("none");

      assertThat(r.disks()).hasSize(3);
      MemoryDisk f = r.disks().get(0);
      assertThat(f.kind()).isEqualTo(DiskKind.GRUB4DOS);
      assertThat(f.origin()).isEqualTo("GRUB4DOS slot 0 (GRUB4DOS hook 9CC0:0100)");
      assertThat(f.address()).isEqualTo(FLOPPY_AT);
      assertThat(f.size()).isEqualTo(1474560);
      assertThat(f.sectorSize()).isEqualTo(512);
      assertThat(f.media()).isEqualTo(Media.FLOPPY);
      assertThat(f.cylinders()).isEqualTo(80);
      assertThat(f.heads()).isEqualTo(2);
      assertThat(f.sectors()).isEqualTo(18);
      assertThat(f.biosDrive()).isZero();
      assertThat(f.readOnly()).isFalse();
      assertThat(f.writesDiscarded()).isFalse();
      assertThat(f.descriptorAddress()).isEqualTo(0x9CC20);
      assertThat(f.warnings()).isEmpty();

      MemoryDisk h = r.disks().get(1);
      assertThat(h.media()).isEqualTo(Media.HARD_DISK);
      assertThat(h.biosDrive()).isEqualTo(0x81);
      assertThat(h.size()).isEqualTo(32768 * 512L);
      // The emulated drive's geometry (max_head 0x3F, max_sector 0x20), not the TO drive's 255/63.
      assertThat(h.heads()).isEqualTo(64);
      assertThat(h.sectors()).isEqualTo(32);
      assertThat(h.cylinders()).isEqualTo(16);

      MemoryDisk c = r.disks().get(2);
      assertThat(c.media()).isEqualTo(Media.CDROM);
      assertThat(c.cdrom()).isTrue();
      assertThat(c.sectorSize()).isEqualTo(2048);
      // count is in 512-byte units also for a CD (WinVBlock takes it as 2048-byte sectors: 4x).
      assertThat(c.lbaCount()).isEqualTo(250);
      assertThat(c.size()).isEqualTo(512_000);
      assertThat(c.biosDrive()).isEqualTo(0xFF);
      assertThat(c.heads()).isEqualTo(255);
      assertThat(c.sectors()).isEqualTo(63);
    }
  }

  @Test
  void restrictionBitsGiveReadOnlyAndFakeWrite() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0x00, 0xFF, 0x01, 0x92, 0x8808, 0xFE, 0x3F, FLOPPY_AT / 512, 2880) // X1 Y0
          .slot(0x01, 0xFF, 0x01, 0x92, 0x8808, 0xFE, 0x7F, HD_AT / 512, 2880) // X1 Y1
          .slot(0x80, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x3F, CD_AT / 512, 2048) // X0 Y0
          .writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.grub4dos().get(0).slots())
          .extracting(Grub4DosInfo.DriveMapEntry::restriction)
          .containsExactly("read-only", "fake-write", "none");
      assertThat(r.disks()).extracting(MemoryDisk::readOnly).containsExactly(true, false, false);
      assertThat(r.disks())
          .extracting(MemoryDisk::writesDiscarded)
          .containsExactly(false, true, false);
    }
  }

  @Test
  void toIsACdMeansARealDriveEvenWhenNumbered0xFf() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0xA0, 0xFF, 0xFE, 0x3F, 0xE000, 0, 0, 16, 1000) // bit 14: TO is a CD
          .slot(0x80, 0x81, 0xFE, 0x3F, 0x8000, 0xFE, 0x7F, 2048, 100000) // partition of hd1
          .writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected()).isEmpty();
      var slots = r.grub4dos().get(0).slots();
      assertThat(slots)
          .extracting(Grub4DosInfo.DriveMapEntry::memory)
          .containsExactly(false, false);
      assertThat(slots.get(0).toCdrom()).isTrue();
      assertThat(slots.get(0).fromCdrom()).isTrue();
    }
  }

  @Test
  void mixedChainMemdiskBehindGrub4dos() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0x00, 0xFF, 0x01, 0x12, 0x8808, 0xFE, 0x7F, FLOPPY_AT / 512, 2880)
          .writeTo(m);
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.segment = 0x9C00;
      md.oldDosMem = 627;
      md.prev = SyntheticMemdisk.vector(0x9CC0, 0x0100);
      md.diskbuf = 0x1000000;
      md.writeTo(m);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.rejected()).isEmpty();
      assertThat(r.hooks()).extracting(HookInfo::kind).containsExactly("MEMDISK", "GRUB4DOS");
      assertThat(r.disks())
          .extracting(MemoryDisk::kind)
          .containsExactly(DiskKind.MEMDISK, DiskKind.GRUB4DOS);
      assertThat(r.chainEnd().vector()).isEqualTo("F000:E3FE");
    }
  }

  @Test
  void headerOdditiesAreWarnings() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      SyntheticGrub4Dos g = new SyntheticGrub4Dos();
      g.g4ds = false;
      g.version = 2;
      g.savedInt13 = SyntheticMemdisk.vector(0xF000, 0x1111);
      g.slot(0x00, 0xFF, 0x01, 0x12, 0x8808, 0xFE, 0x7F, FLOPPY_AT / 512, 2880).writeTo(m);
      m.putU8(0x9CC20 + 8 * 24, 0x42); // 9th slot
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks()).hasSize(1);
      assertThat(r.grub4dos().get(0).warnings())
          .anyMatch(w -> w.contains("G4DS"))
          .anyMatch(w -> w.contains("version 2"))
          .anyMatch(w -> w.contains("F000:1111"))
          .anyMatch(w -> w.contains("9th"));
    }
  }

  @Test
  void cdCountNotAMultipleOfFourIsFlooredWithAWarning() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0xFF, 0xFF, 0xFE, 0x3F, 0xA008, 0xFE, 0x7F, CD_AT / 512, 1001)
          .writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks())
          .singleElement()
          .satisfies(
              d -> {
                assertThat(d.lbaCount()).isEqualTo(250);
                assertThat(d.warnings()).anyMatch(w -> w.contains("not a multiple of 4"));
              });
    }
  }

  @Test
  void geometryNotCoveringTheCountIsAWarning() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0x80, 0xFF, 0x0F, 0x3F, 0x8008, 0xFE, 0x7F, HD_AT / 512, 10000)
          .writeTo(m);
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.disks().get(0).warnings()).anyMatch(w -> w.contains("rounds memdrives"));
    }
  }
}
