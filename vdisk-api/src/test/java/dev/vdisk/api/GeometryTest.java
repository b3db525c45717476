package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GeometryTest {

  @Test
  void hardDisksGet255HeadsAnd63Sectors() {
    Geometry g = Geometry.forHardDisk(8L << 30, 512);
    assertThat(g.heads()).isEqualTo(255);
    assertThat(g.sectorsPerTrack()).isEqualTo(63);
    assertThat(g.cylinders()).isEqualTo((8L << 30) / 512 / (255 * 63));
    Geometry small = Geometry.forHardDisk(4L << 20, 512);
    assertThat(small.heads()).isEqualTo(16);
    assertThat(small.chsSectors()).isLessThanOrEqualTo((4L << 20) / 512);
  }

  @Test
  void everyFloppyFormatHasTheSizeItIsNamedForAndIsFoundByIt() {
    int[] imDiskSizesKiB = {160, 180, 320, 360, 640, 720, 820, 1200, 1232, 1440, 1680, 1722, 2880};
    assertThat(FloppyFormat.values()).hasSize(imDiskSizesKiB.length);
    for (int i = 0; i < imDiskSizesKiB.length; i++) {
      FloppyFormat f = FloppyFormat.values()[i];
      assertThat(f.sizeKiB()).as("%s", f).isEqualTo(imDiskSizesKiB[i]);
      assertThat(f.sizeBytes()).isEqualTo(imDiskSizesKiB[i] * 1024L);
      assertThat(f.name()).isEqualTo("F" + imDiskSizesKiB[i] + "K");
      assertThat(FloppyFormat.forSize(f.sizeBytes())).isSameAs(f);
      Geometry g = f.geometry();
      assertThat(g.chsSectors() * g.bytesPerSector()).isEqualTo(f.sizeBytes());
    }
    assertThat(FloppyFormat.forSize(1440 * 1024 + 512)).isNull();
    assertThat(FloppyFormat.F1440K.geometry()).isEqualTo(new Geometry(80, 2, 18, 512));
    assertThat(FloppyFormat.F2880K.geometry()).isEqualTo(new Geometry(80, 2, 36, 512));
    assertThat(FloppyFormat.F1722K.geometry()).isEqualTo(new Geometry(82, 2, 21, 512));
    assertThat(FloppyFormat.F160K.geometry()).isEqualTo(new Geometry(40, 1, 8, 512));
  }

  @Test
  void imagesOfFloppySizeGetFloppyGeometry() {
    assertThat(Geometry.forImage(720 * 1024, 512, null)).isEqualTo(new Geometry(80, 2, 9, 512));
    // The 1232K PC-98 format has 1024-byte sectors; on a 512-byte device it is just a small disk.
    assertThat(Geometry.forImage(1232 * 1024, 512, null).bytesPerSector()).isEqualTo(512);
    assertThat(Geometry.forImage(1232 * 1024, 1024, null)).isEqualTo(new Geometry(77, 2, 8, 1024));
  }

  @Test
  void mbrPartitionEndsGiveHeadsAndSectors() {
    byte[] mbr = mbr();
    // Partition 0: end CHS head 63, sector 32; partition 1 (type 0x83): end head 127, sector 16.
    entry(mbr, 0, 0x80, 0x0c, 1, 1, 63, 32);
    entry(mbr, 1, 0x00, 0x83, 0, 1, 127, 16);
    long size = 1L << 30;
    Geometry g = BootSectorGeometry.guess(mbr, size, 512);
    assertThat(g.heads()).isEqualTo(128);
    assertThat(g.sectorsPerTrack()).isEqualTo(32);
    assertThat(g.cylinders()).isEqualTo(size / 512 / (128 * 32));
    assertThat(Geometry.forImage(size, 512, mbr)).isEqualTo(g);
  }

  @Test
  void unusedOrBogusEntriesAndMissingSignaturesAreIgnored() {
    byte[] mbr = mbr();
    entry(mbr, 0, 0x00, 0x00, 0, 0, 200, 50); // type 0: unused
    entry(mbr, 1, 0x7f, 0x83, 0, 1, 100, 40); // status neither 0x00 nor 0x80
    assertThat(BootSectorGeometry.guess(mbr, 1L << 30, 512)).isNull();
    assertThat(Geometry.forImage(1L << 30, 512, mbr))
        .isEqualTo(Geometry.forHardDisk(1L << 30, 512));
    byte[] noSignature = new byte[512];
    entry(noSignature, 0, 0x80, 0x0c, 1, 1, 63, 32);
    assertThat(BootSectorGeometry.guess(noSignature, 1L << 30, 512)).isNull();
  }

  @Test
  void sectorlessEntriesDefaultTo63() {
    byte[] mbr = mbr();
    entry(mbr, 0, 0x80, 0x0c, 1, 0, 15, 0);
    Geometry g = BootSectorGeometry.guess(mbr, 64L << 20, 512);
    assertThat(g.heads()).isEqualTo(16);
    assertThat(g.sectorsPerTrack()).isEqualTo(63);
  }

  @Test
  void aFatBootSectorGivesItsBpbGeometry() {
    byte[] vbr = new byte[512];
    vbr[0] = (byte) 0xeb;
    le16(vbr, 11, 512);
    vbr[21] = (byte) 0xf8;
    le16(vbr, 22, 200); // FAT16: sectors per FAT non-zero
    le16(vbr, 24, 17);
    le16(vbr, 26, 4);
    vbr[38] = 0x29;
    vbr[54] = 'F';
    vbr[55] = 'A';
    vbr[56] = 'T';
    Geometry g = BootSectorGeometry.guess(vbr, 20L << 20, 512);
    assertThat(g).isEqualTo(new Geometry((20L << 20) / 512 / (4 * 17), 4, 17, 512));
    vbr[38] = 0; // no extended boot signature: not trusted
    assertThat(BootSectorGeometry.guess(vbr, 20L << 20, 512)).isNull();
  }

  @Test
  void badInputFailsNamingTheValue() {
    assertThatThrownBy(() -> Geometry.forHardDisk(-1, 512)).hasMessageContaining("size -1");
    assertThatThrownBy(() -> Geometry.forHardDisk(1 << 20, 0))
        .hasMessageContaining("bytesPerSector 0")
        .hasMessageContaining("expected a power of two");
    assertThatThrownBy(() -> new Geometry(1, 0, 63, 512)).hasMessageContaining("heads 0");
    assertThatThrownBy(() -> new Geometry(1, 16, 0, 512)).hasMessageContaining("sectorsPerTrack 0");
    assertThatThrownBy(() -> BootSectorGeometry.guess(new byte[100], 1 << 20, 512))
        .hasMessageContaining("100 bytes");
  }

  private static byte[] mbr() {
    byte[] s = new byte[512];
    s[510] = 0x55;
    s[511] = (byte) 0xaa;
    return s;
  }

  private static void entry(
      byte[] s,
      int i,
      int status,
      int type,
      int startHead,
      int startSector,
      int endHead,
      int endSector) {
    int e = 446 + 16 * i;
    s[e] = (byte) status;
    s[e + 1] = (byte) startHead;
    s[e + 2] = (byte) startSector;
    s[e + 4] = (byte) type;
    s[e + 5] = (byte) endHead;
    s[e + 6] = (byte) (endSector | 0xc0); // top two bits are cylinder bits 8-9
    s[e + 7] = (byte) 0xff;
  }

  private static void le16(byte[] b, int at, int v) {
    b[at] = (byte) v;
    b[at + 1] = (byte) (v >>> 8);
  }
}
