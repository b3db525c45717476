package dev.vdisk.memdisk;

import dev.vdisk.api.Geometry;
import java.util.List;

/**
 * A RAM disk found in guest memory: where it is and how the loader presents it.
 *
 * @param index position in {@link ProbeResult#disks()}
 * @param kind the loader that made it
 * @param origin where it was found ("MEMDISK hook 9F40:000A", "mBFT scan", "GRUB4DOS slot 2")
 * @param address guest-physical address of the first byte
 * @param size bytes exposed ({@code lbaCount * sectorSize})
 * @param sectorSize 512 or 2048
 * @param lbaCount sectors of {@code sectorSize}
 * @param cylinders emulated cylinders as the loader gives them (placeholders for a CD)
 * @param heads emulated heads
 * @param sectors emulated sectors per track
 * @param media floppy, hard disk or CD-ROM
 * @param biosDrive the BIOS drive number the guest sees (0x00, 0x80, 0xE0, ...)
 * @param readOnly the loader refuses writes
 * @param cdrom El Torito no-emulation CD (2048-byte sectors)
 * @param writesDiscarded GRUB4DOS "fake write": writes succeed and are dropped
 * @param descriptorAddress the hook (MEMDISK: the mBFT) or slot it came from
 * @param warnings tolerated oddities (geometry smaller than size, padding, ...)
 */
public record MemoryDisk(
    int index,
    DiskKind kind,
    String origin,
    long address,
    long size,
    int sectorSize,
    long lbaCount,
    long cylinders,
    int heads,
    long sectors,
    Media media,
    int biosDrive,
    boolean readOnly,
    boolean cdrom,
    boolean writesDiscarded,
    long descriptorAddress,
    List<String> warnings) {

  /** Last byte + 1. */
  public long end() {
    return address + size;
  }

  /**
   * The geometry a block device presents: the loader's own when it is a valid CHS triple, else one
   * derived from the size.
   */
  public Geometry geometry() {
    if (cylinders >= 0 && heads >= 1 && heads <= 256 && sectors >= 1 && sectors <= 255) {
      return new Geometry(cylinders, heads, (int) sectors, sectorSize);
    }
    return cdrom ? Geometry.forCdrom(size) : Geometry.forHardDisk(size, sectorSize);
  }

  MemoryDisk withIndex(int newIndex) {
    return new MemoryDisk(
        newIndex,
        kind,
        origin,
        address,
        size,
        sectorSize,
        lbaCount,
        cylinders,
        heads,
        sectors,
        media,
        biosDrive,
        readOnly,
        cdrom,
        writesDiscarded,
        descriptorAddress,
        warnings);
  }
}
