package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** MEMDISK structures synthesized from the spec: every MDI and patch-area field comes back. */
class MemdiskParserTest {
  private final GuestMemory mem = Images.pc(8 << 20);

  @AfterEach
  void close() {
    mem.close();
  }

  @Test
  void floppyLikeTheRealDump() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);

    assertThat(r.rejected()).isEmpty();
    assertThat(r.warnings()).isEmpty();
    assertThat(r.hooks()).hasSize(1);
    HookInfo h = r.hooks().get(0);
    assertThat(h.position()).isZero();
    assertThat(h.vector()).isEqualTo("9F40:000A");
    assertThat(h.address()).isEqualTo(0x9F40A);
    assertThat(h.kind()).isEqualTo("MEMDISK");
    assertThat(h.vendor()).isEqualTo("MEMDISK_");
    assertThat(h.vendorHex()).isEqualTo("4D454D4449534B20");
    assertThat(h.prev()).isEqualTo("F000:E3FE");
    assertThat(h.prevAddress()).isEqualTo(0xFE3FE);
    assertThat(h.flags()).isZero();
    assertThat(h.mbft()).isEqualTo(0x9F8C0L);
    assertThat(h.inChain()).isTrue();
    assertThat(r.chainEnd().vector()).isEqualTo("F000:E3FE");
    assertThat(r.chainEnd().normal()).isTrue();

    assertThat(r.memdisks()).hasSize(1);
    MemdiskInfo m = r.memdisks().get(0);
    assertThat(m.hookAddress()).isEqualTo(0x9F40A);
    assertThat(m.inChain()).isTrue();
    assertThat(m.mbftAddress()).isEqualTo(0x9F8C0);
    assertThat(m.mbftLength()).isEqualTo(70);
    assertThat(m.mbftRevision()).isEqualTo(1);
    assertThat(m.oemId()).isEqualTo("MEMDSK");
    assertThat(m.oemTableId()).isEqualTo("Syslinux");
    assertThat(m.mdiBytes()).isEqualTo(30);
    assertThat(m.version()).isEqualTo("6.04");
    assertThat(m.diskBuffer()).isEqualTo(0x200000);
    assertThat(m.diskSectors()).isEqualTo(2880);
    assertThat(m.sectorShift()).isEqualTo(9);
    assertThat(m.commandLine()).isEmpty();
    assertThat(m.commandLineAddress()).isEqualTo(0x9F400 + 0x5C8);
    assertThat(m.oldInt13()).isEqualTo("F000:E3FE");
    assertThat(m.oldInt15()).isEqualTo("F000:F859");
    assertThat(m.oldDosMemKib()).isEqualTo(639);
    assertThat(m.bootLoaderId()).isEqualTo(0xB0);
    assertThat(m.dptPointer()).isZero();
    assertThat(m.edd()).isNull();
    assertThat(m.cdPacket()).isNull();
    assertThat(m.warnings()).isEmpty();
    var p = m.patch();
    assertThat(p.driveShiftLimit()).isEqualTo(2);
    assertThat(p.memInt1588Kib()).isEqualTo(30176);
    assertThat(p.cylinders()).isEqualTo(80);
    assertThat(p.heads()).isEqualTo(2);
    assertThat(p.sectors()).isEqualTo(18);
    assertThat(p.mem1mbKib()).isEqualTo(15360);
    assertThat(p.mem16mb64k()).isEqualTo(231);
    assertThat(p.driveNumber()).isZero();
    assertThat(p.driveType()).isEqualTo(0x10);
    assertThat(p.driveCount()).isEqualTo(2);
    assertThat(p.configFlags()).isEqualTo(4);
    assertThat(p.readOnly()).isFalse();
    assertThat(p.raw()).isFalse();
    assertThat(p.safeInt()).isTrue();
    assertThat(p.bigRaw()).isFalse();
    assertThat(p.stack()).isEqualTo(0x800);
    assertThat(p.statusPointer()).isEqualTo(0x441);
    assertThat(p.oldInt1e()).isEqualTo("F000:601C");

    assertThat(r.disks()).hasSize(1);
    MemoryDisk d = r.disks().get(0);
    assertThat(d.index()).isZero();
    assertThat(d.kind()).isEqualTo(DiskKind.MEMDISK);
    assertThat(d.origin()).isEqualTo("MEMDISK hook 9F40:000A");
    assertThat(d.address()).isEqualTo(0x200000);
    assertThat(d.size()).isEqualTo(1474560);
    assertThat(d.sectorSize()).isEqualTo(512);
    assertThat(d.lbaCount()).isEqualTo(2880);
    assertThat(d.cylinders()).isEqualTo(80);
    assertThat(d.heads()).isEqualTo(2);
    assertThat(d.sectors()).isEqualTo(18);
    assertThat(d.media()).isEqualTo(Media.FLOPPY);
    assertThat(d.biosDrive()).isZero();
    assertThat(d.readOnly()).isFalse();
    assertThat(d.cdrom()).isFalse();
    assertThat(d.writesDiscarded()).isFalse();
    assertThat(d.descriptorAddress()).isEqualTo(0x9F8C0);
    assertThat(d.warnings()).isEmpty();
    assertThat(d.geometry().chsSectors()).isEqualTo(2880);
  }

  @Test
  void readOnlyHardDiskWithEddTableAndCommandLine() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.segment = 0x9F00;
    md.mbftOffset = 0x600; // EDD build
    md.cmdlineOffset = 0x754;
    md.cmdline = "harddisk ro";
    md.disksize = 8064;
    md.cylinders = 8;
    md.heads = 16;
    md.sectors = 63;
    md.driveno = 0x80;
    md.drivetype = 0;
    md.drivecnt = 1;
    md.configflags = 0x05;
    md.statusptr = 0x474;
    md.edd = true;
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);

    assertThat(r.rejected()).isEmpty();
    MemdiskInfo m = r.memdisks().get(0);
    assertThat(m.commandLine()).isEqualTo("harddisk ro");
    assertThat(m.patch().readOnly()).isTrue();
    assertThat(m.edd()).isNotNull();
    assertThat(m.edd().chsValid()).isTrue();
    assertThat(m.edd().cylinders()).isEqualTo(8);
    assertThat(m.edd().heads()).isEqualTo(16);
    assertThat(m.edd().sectors()).isEqualTo(63);
    assertThat(m.edd().totalSectors()).isEqualTo(8064);
    assertThat(m.edd().bytesPerSector()).isEqualTo(512);
    assertThat(m.cdPacket()).isNull();
    MemoryDisk d = r.disks().get(0);
    assertThat(d.media()).isEqualTo(Media.HARD_DISK);
    assertThat(d.biosDrive()).isEqualTo(0x80);
    assertThat(d.readOnly()).isTrue();
    assertThat(d.size()).isEqualTo(8064 * 512L);
    assertThat(d.warnings()).isEmpty();
  }

  @Test
  void noEmulationIsoHas2048ByteSectorsAndPlaceholderGeometry() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.segment = 0x9F00;
    md.mbftOffset = 0x660; // ISO build
    md.cmdline = "iso";
    md.cmdlineOffset = 0x7C8;
    md.sectorShift = 11;
    md.disksize = 249; // a 509 952-byte ISO
    md.cylinders = 65535;
    md.heads = 255;
    md.sectors = 15;
    md.driveno = 0xE0;
    md.drivetype = 0;
    md.edd = true;
    md.cdPacket = true;
    md.cdMedia = 0;
    md.cdRba = 34;
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);

    assertThat(r.rejected()).isEmpty();
    MemdiskInfo m = r.memdisks().get(0);
    assertThat(m.sectorShift()).isEqualTo(11);
    assertThat(m.edd().chsValid()).isFalse();
    assertThat(m.edd().bytesPerSector()).isEqualTo(2048);
    assertThat(m.cdPacket().mediaType()).isZero();
    assertThat(m.cdPacket().drive()).isEqualTo(0xE0);
    assertThat(m.cdPacket().imageRba()).isEqualTo(34);
    assertThat(m.cdPacket().sectorCount()).isEqualTo(4);
    MemoryDisk d = r.disks().get(0);
    assertThat(d.media()).isEqualTo(Media.CDROM);
    assertThat(d.cdrom()).isTrue();
    assertThat(d.sectorSize()).isEqualTo(2048);
    assertThat(d.size()).isEqualTo(509_952);
    assertThat(d.lbaCount()).isEqualTo(249);
    assertThat(d.cylinders()).isEqualTo(65535);
    assertThat(d.heads()).isEqualTo(255);
    assertThat(d.sectors()).isEqualTo(15);
    assertThat(d.biosDrive()).isEqualTo(0xE0);
    assertThat(d.warnings()).isEmpty();
  }

  @Test
  void elToritoFloppyEmulationExposesAllRemainingBytesAndWarnsAboutGeometry() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.mbftOffset = 0x660;
    md.disksize = 3736; // rest of the ISO after the image's RBA, while C*H*S = 2880
    md.edd = true;
    md.cdPacket = true;
    md.cdMedia = 2;
    md.cdRba = 40;
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);

    assertThat(r.rejected()).isEmpty();
    assertThat(r.memdisks().get(0).cdPacket().mediaType()).isEqualTo(2);
    MemoryDisk d = r.disks().get(0);
    assertThat(d.media()).isEqualTo(Media.FLOPPY);
    assertThat(d.size()).isEqualTo(3736 * 512L);
    assertThat(d.cylinders()).isEqualTo(80);
    assertThat(d.warnings()).singleElement().asString().contains("covers 2880 sectors");
  }

  @Test
  void oldMdiWithoutSectorShiftOrPatchAreaIsAcceptedWithWarnings() {
    for (int bytes : new int[] {26, 27}) {
      try (GuestMemory m = Images.pc(4 << 20)) {
        SyntheticMemdisk md = new SyntheticMemdisk();
        md.mdiBytes = bytes;
        md.writeTo(m);
        ProbeResult r = MemdiskProbe.probe(m);
        assertThat(r.rejected()).isEmpty();
        MemdiskInfo info = r.memdisks().get(0);
        assertThat(info.mbftLength()).isEqualTo(40 + bytes);
        assertThat(info.sectorShift()).isEqualTo(9);
        assertThat(info.patch()).isNull();
        assertThat(info.dptPointer()).isNull();
        assertThat(info.bootLoaderId()).isEqualTo(bytes == 27 ? 0xB0 : null);
        assertThat(info.warnings()).anyMatch(w -> w.contains("no sector_shift"));
        MemoryDisk d = r.disks().get(0);
        assertThat(d.sectorSize()).isEqualTo(512);
        assertThat(d.media()).isEqualTo(Media.FLOPPY);
        assertThat(d.warnings()).anyMatch(w -> w.contains("no patch area"));
      }
    }
  }

  @Test
  void sectorShiftZeroMeans512() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.sectorShift = 0;
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.disks().get(0).sectorSize()).isEqualTo(512);
    assertThat(r.memdisks().get(0).warnings()).anyMatch(w -> w.contains("sector_shift 0"));
  }

  @Test
  void claimedFlagIsToleratedWithAWarning() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.flags = 1;
    md.writeTo(mem);
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.disks()).hasSize(1);
    assertThat(r.hooks().get(0).flags()).isEqualTo(1);
    assertThat(r.memdisks().get(0).warnings()).anyMatch(w -> w.contains("claimed"));
  }

  @Test
  void nopassanyPrevPointsAtMemdisksIret() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.writeTo(mem);
    long iret = SyntheticMemdisk.vector(md.segment, md.iretOffset);
    mem.putU32(md.hook() + 19, iret); // prev; MDI oldint13 still holds the BIOS vector
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.disks()).hasSize(1);
    assertThat(r.chainEnd().vector()).isEqualTo("9F40:00B4");
    assertThat(r.warnings()).anyMatch(w -> w.contains("outside the BIOS"));
    assertThat(r.memdisks().get(0).warnings()).anyMatch(w -> w.contains("nopassany"));
  }

  @Test
  void oldInt13DifferentFromPrevIsReported() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.writeTo(mem);
    mem.putU32(md.mdi() + 16, SyntheticMemdisk.vector(0xF000, 0x1234));
    md.fixChecksum(mem);
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.disks()).hasSize(1);
    assertThat(r.memdisks().get(0).warnings())
        .anyMatch(w -> w.contains("oldint13 F000:1234 != safe hook prev F000:E3FE"));
  }

  @Test
  void headerMismatchesAreWarnings() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.writeTo(mem);
    mem.putU16(md.block(), 0x20);
    mem.putU16(md.block() + 4, 0x100);
    mem.putU16(md.mdi() + 24, 700); // olddosmem past 640 KiB
    md.fixChecksum(mem);
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.disks()).hasSize(1);
    assertThat(r.memdisks().get(0).warnings())
        .anyMatch(w -> w.contains("INT 13h entry offset 0x20"))
        .anyMatch(w -> w.contains("patch offset 0x100"))
        .anyMatch(w -> w.contains("olddosmem 700"));
  }

  @Test
  void unterminatedCommandLineIsCappedAndWarned() {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.writeTo(mem);
    mem.fill(md.block() + md.cmdlineOffset, 5000, (byte) 'x');
    ProbeResult r = MemdiskProbe.probe(mem);
    assertThat(r.memdisks().get(0).commandLine()).hasSize(4096);
    assertThat(r.memdisks().get(0).warnings()).anyMatch(w -> w.contains("truncated"));
  }
}
