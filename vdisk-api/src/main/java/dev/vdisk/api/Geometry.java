package dev.vdisk.api;

/**
 * Cylinder/head/sector geometry a device presents to firmware and guests that still ask for one
 * (BIOS INT 13h, virtio-blk's geometry field, MEMDISK's tables).
 *
 * @param cylinders number of cylinders (may exceed what CHS addressing can reach; callers clamp)
 * @param heads heads per cylinder (1..255)
 * @param sectorsPerTrack sectors per track (1..63 for hard disks, up to 36 for floppies)
 * @param bytesPerSector sector size in bytes
 */
public record Geometry(long cylinders, int heads, int sectorsPerTrack, int bytesPerSector) {

  public Geometry {
    if (cylinders < 0) {
      throw new IllegalArgumentException("cylinders " + cylinders + " (expected >= 0)");
    }
    if (heads < 1 || heads > 256) {
      throw new IllegalArgumentException("heads " + heads + " (expected 1..256)");
    }
    if (sectorsPerTrack < 1 || sectorsPerTrack > 255) {
      throw new IllegalArgumentException(
          "sectorsPerTrack " + sectorsPerTrack + " (expected 1..255)");
    }
    if (bytesPerSector < 128 || Integer.bitCount(bytesPerSector) != 1) {
      throw new IllegalArgumentException(
          "bytesPerSector " + bytesPerSector + " (expected a power of two >= 128)");
    }
  }

  /**
   * The usual hard-disk translation: 255 heads and 63 sectors per track, cylinders rounded down
   * (small disks get fewer heads so that tiny images still have at least one cylinder).
   */
  public static Geometry forHardDisk(long sizeBytes, int bytesPerSector) {
    if (sizeBytes < 0) {
      throw new IllegalArgumentException("size " + sizeBytes + " (expected >= 0)");
    }
    checkSectorSize(bytesPerSector);
    long sectors = sizeBytes / bytesPerSector;
    int heads = 255;
    int spt = 63;
    if (sectors < (long) heads * spt) {
      // Small disks: 16 heads x 63 sectors (the ATA default translation) or fewer.
      heads = 16;
      if (sectors < (long) heads * spt) {
        heads = (int) Math.max(1, Math.min(16, sectors / spt));
      }
    }
    long cylinders = Math.max(1, sectors / ((long) heads * spt));
    return new Geometry(cylinders, heads, spt, bytesPerSector);
  }

  private static void checkSectorSize(int bytesPerSector) {
    if (bytesPerSector < 128 || Integer.bitCount(bytesPerSector) != 1) {
      throw new IllegalArgumentException(
          "bytesPerSector " + bytesPerSector + " (expected a power of two >= 128)");
    }
  }

  /**
   * The geometry a raw image presents, found the way ImDisk and WinAoE find it: an image of exactly
   * a standard floppy size gets that floppy's geometry ({@link FloppyFormat#forSize}); otherwise a
   * FAT boot sector's BPB or an MBR partition table in {@code firstSector} gives heads and sectors
   * per track ({@link BootSectorGeometry}); otherwise the usual hard-disk translation.
   *
   * @param firstSector the image's first sector (at least 512 bytes), or null when unknown
   */
  public static Geometry forImage(long sizeBytes, int bytesPerSector, byte[] firstSector) {
    checkSectorSize(bytesPerSector);
    FloppyFormat floppy = FloppyFormat.forSize(sizeBytes);
    if (floppy != null && floppy.bytesPerSector() == bytesPerSector) {
      return floppy.geometry();
    }
    if (firstSector != null) {
      Geometry g = BootSectorGeometry.guess(firstSector, sizeBytes, bytesPerSector);
      if (g != null) {
        return g;
      }
    }
    return forHardDisk(sizeBytes, bytesPerSector);
  }

  /** CD-ROM: 2048-byte sectors; CHS is meaningless, so it reports one head and one sector. */
  public static Geometry forCdrom(long sizeBytes) {
    return new Geometry(sizeBytes / 2048, 1, 1, 2048);
  }

  /** Total sectors the CHS triple addresses. */
  public long chsSectors() {
    return cylinders * heads * sectorsPerTrack;
  }
}
