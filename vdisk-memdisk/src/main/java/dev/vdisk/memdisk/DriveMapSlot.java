package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;

/**
 * Flyweight over one GRUB4DOS drive-map slot (spec §6.2; GRUB4DOS {@code stage2/shared.h}, {@code
 * struct drive_map_slot}).
 *
 * <pre>
 *  0 from_drive  1 to_drive  2 max_head  3 max_sector (bit 6 no LBA, bit 7 restriction X)
 *  4 to_cylinder u16 (bits 0-9 max cyl, 11 bs type, 12 bifurcate, 13 FROM is CD, 14 TO is CD,
 *    15 TO has LBA)  6 to_head  7 to_sector (bit 6 restriction Y, bit 7 in-situ)
 *  8 start_sector u64  16 sector_count u64 (512-byte units, always)
 * </pre>
 */
public final class DriveMapSlot {
  public static final int FROM_DRIVE_OFFSET = 0;
  public static final int TO_DRIVE_OFFSET = 1;
  public static final int MAX_HEAD_OFFSET = 2;
  public static final int MAX_SECTOR_OFFSET = 3;
  public static final int TO_CYLINDER_OFFSET = 4;
  public static final int TO_HEAD_OFFSET = 6;
  public static final int TO_SECTOR_OFFSET = 7;
  public static final int START_SECTOR_OFFSET = 8;
  public static final int SECTOR_COUNT_OFFSET = 16;
  public static final int SIZE = 24;

  /** to_drive value that means "memory". */
  public static final int TO_MEMORY = 0xFF;

  public static final int MAX_SECTOR_SPT_MASK = 0x3F;
  public static final int MAX_SECTOR_NO_LBA = 0x40;
  public static final int MAX_SECTOR_RESTRICTION_X = 0x80;
  public static final int TO_CYLINDER_MAX_MASK = 0x3FF;
  public static final int TO_CYLINDER_BOOT_SECTOR_TYPE = 0x0800;
  public static final int TO_CYLINDER_BIFURCATE = 0x1000;
  public static final int TO_CYLINDER_FROM_CDROM = 0x2000;
  public static final int TO_CYLINDER_TO_CDROM = 0x4000;
  public static final int TO_CYLINDER_TO_LBA = 0x8000;
  public static final int TO_SECTOR_SPT_MASK = 0x3F;
  public static final int TO_SECTOR_RESTRICTION_Y = 0x40;
  public static final int TO_SECTOR_IN_SITU = 0x80;

  /** The unit of start (for memory) and of every count. */
  public static final int UNIT = 512;

  private ReadableGuestMemory memory;
  private long address;

  public DriveMapSlot wrap(ReadableGuestMemory memory, long address) {
    this.memory = memory;
    this.address = address;
    return this;
  }

  public long address() {
    return address;
  }

  /** GRUB4DOS treats a slot as empty when all 24 bytes are zero. */
  public boolean isEmpty() {
    return memory.u64(address) == 0
        && memory.u64(address + 8) == 0
        && memory.u64(address + 16) == 0;
  }

  public int fromDrive() {
    return memory.u8(address + FROM_DRIVE_OFFSET);
  }

  public int toDrive() {
    return memory.u8(address + TO_DRIVE_OFFSET);
  }

  public int maxHead() {
    return memory.u8(address + MAX_HEAD_OFFSET);
  }

  public int maxSector() {
    return memory.u8(address + MAX_SECTOR_OFFSET);
  }

  public int toCylinder() {
    return memory.u16(address + TO_CYLINDER_OFFSET);
  }

  public int toHead() {
    return memory.u8(address + TO_HEAD_OFFSET);
  }

  public int toSector() {
    return memory.u8(address + TO_SECTOR_OFFSET);
  }

  /** Unsigned 64-bit (negative when above 2^63). */
  public long startSector() {
    return memory.u64(address + START_SECTOR_OFFSET);
  }

  /** Unsigned 64-bit, in 512-byte units. */
  public long sectorCount() {
    return memory.u64(address + SECTOR_COUNT_OFFSET);
  }
}
