package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;

/**
 * Flyweight over GRUB4DOS's resident INT 13h block (spec §6.1; GRUB4DOS {@code stage2/asm.S},
 * {@code int13_handler}). The INT 13h vector points at G:0100, so the block starts at the hook's
 * linear address minus {@link #HOOK_OFFSET}.
 *
 * <pre>
 *  0x00 size KiB  0x02 ATAPI CD count  0x03 first CD drive  0x04 "G4DS"  0x08 version u16
 *  0x0A equipment byte  0x0B hard-disk count  0x0C old INT 15h  0x1C old INT 13h
 *  0x20 drive map: 9 slots x 24 bytes (8 used)
 *  0x100 jump  0x103 "$INT13SF"  0x10B "GRUB4DOS"  0x113 prev  0x117 flags  0x11B scheme
 * </pre>
 */
public final class Grub4DosBlock {
  public static final int SIZE_KIB_OFFSET = 0x00;
  public static final int CDROM_COUNT_OFFSET = 0x02;
  public static final int CDROM_BASE_DRIVE_OFFSET = 0x03;
  public static final int SIGNATURE_OFFSET = 0x04;
  public static final int VERSION_OFFSET = 0x08;
  public static final int EQUIPMENT_OFFSET = 0x0A;
  public static final int HARD_DISK_COUNT_OFFSET = 0x0B;
  public static final int OLD_INT15_OFFSET = 0x0C;
  public static final int OLD_INT13_OFFSET = 0x1C;
  public static final int DRIVE_MAP_OFFSET = 0x20;

  /** Slots GRUB4DOS uses (the table has room for 9; the 9th is a zero terminator). */
  public static final int SLOT_COUNT = 8;

  public static final int TABLE_SLOTS = 9;

  /** Where the handler (and its safe hook) starts; the INT 13h vector's offset. */
  public static final int HOOK_OFFSET = 0x100;

  public static final int INT13_SCHEME_OFFSET = 0x11B;

  /** Bytes from the block start a parser reads: header, table and the safe hook. */
  public static final int PARSED_SIZE = 0x11F;

  /** "G4DS" as a little-endian u32 (legacy, GRUB4DOS asks not to rely on it). */
  public static final long SIGNATURE = Ascii.tag32("G4DS");

  private ReadableGuestMemory memory;
  private long address;

  public Grub4DosBlock wrap(ReadableGuestMemory memory, long address) {
    this.memory = memory;
    this.address = address;
    return this;
  }

  public long address() {
    return address;
  }

  public int sizeKib() {
    return memory.u8(address + SIZE_KIB_OFFSET);
  }

  public int cdromCount() {
    return memory.u8(address + CDROM_COUNT_OFFSET);
  }

  public int cdromBaseDrive() {
    return memory.u8(address + CDROM_BASE_DRIVE_OFFSET);
  }

  public long signature() {
    return memory.u32(address + SIGNATURE_OFFSET);
  }

  public int version() {
    return memory.u16(address + VERSION_OFFSET);
  }

  public int equipment() {
    return memory.u8(address + EQUIPMENT_OFFSET);
  }

  public int hardDiskCount() {
    return memory.u8(address + HARD_DISK_COUNT_OFFSET);
  }

  public long oldInt15() {
    return memory.u32(address + OLD_INT15_OFFSET);
  }

  public long oldInt13() {
    return memory.u32(address + OLD_INT13_OFFSET);
  }

  public long slotAddress(int slot) {
    return address + DRIVE_MAP_OFFSET + (long) slot * DriveMapSlot.SIZE;
  }
}
