package dev.vdisk.api;

/**
 * The standard PC floppy formats, recognised by exact image size the way ImDisk recognises them.
 *
 * <p>Cylinders, heads and sectors per track follow ImDisk's {@code media_table} (sys/imdisk.cpp,
 * itself from Ken Kato's VFD) with two deliberate differences, both so that C x H x S x sector size
 * equals the size the format is named for:
 *
 * <ul>
 *   <li>640K: ImDisk lists 40/2/18, which multiplies to 720 KiB; the real 5.25" quad-density 640K
 *       format is 80 cylinders, 2 heads, 8 sectors.
 *   <li>1232K is not in ImDisk's table; it is the NEC PC-98 "1.2M" format: 77 cylinders, 2 heads, 8
 *       sectors of 1024 bytes.
 * </ul>
 */
public enum FloppyFormat {
  F160K(40, 1, 8, 512),
  F180K(40, 1, 9, 512),
  F320K(40, 2, 8, 512),
  F360K(40, 2, 9, 512),
  F640K(80, 2, 8, 512),
  F720K(80, 2, 9, 512),
  F820K(82, 2, 10, 512),
  F1200K(80, 2, 15, 512),
  F1232K(77, 2, 8, 1024),
  F1440K(80, 2, 18, 512),
  F1680K(80, 2, 21, 512),
  F1722K(82, 2, 21, 512),
  F2880K(80, 2, 36, 512);

  private final int cylinders;
  private final int heads;
  private final int sectorsPerTrack;
  private final int bytesPerSector;

  FloppyFormat(int cylinders, int heads, int sectorsPerTrack, int bytesPerSector) {
    this.cylinders = cylinders;
    this.heads = heads;
    this.sectorsPerTrack = sectorsPerTrack;
    this.bytesPerSector = bytesPerSector;
  }

  /** Image size in bytes: cylinders x heads x sectors x sector size. */
  public long sizeBytes() {
    return (long) cylinders * heads * sectorsPerTrack * bytesPerSector;
  }

  /** Size in KiB, the number the format is named by (1440 for a 1.44M floppy). */
  public int sizeKiB() {
    return (int) (sizeBytes() / 1024);
  }

  public int cylinders() {
    return cylinders;
  }

  public int heads() {
    return heads;
  }

  public int sectorsPerTrack() {
    return sectorsPerTrack;
  }

  public int bytesPerSector() {
    return bytesPerSector;
  }

  public Geometry geometry() {
    return new Geometry(cylinders, heads, sectorsPerTrack, bytesPerSector);
  }

  /** The format whose image is exactly {@code sizeBytes} long, or null when none is. */
  public static FloppyFormat forSize(long sizeBytes) {
    for (FloppyFormat f : values()) {
      if (f.sizeBytes() == sizeBytes) {
        return f;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return sizeKiB() + "K (" + cylinders + "/" + heads + "/" + sectorsPerTrack + ")";
  }
}
