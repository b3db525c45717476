package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;

/**
 * Flyweight over MEMDISK's mBFT, an ACPI-style table whose checksum covers the MDI after it (spec
 * §5.2; syslinux {@code memdisk/mstructs.h} and {@code acpi.h}).
 *
 * <pre>
 *   0 "mBFT"  4 length  8 revision  9 checksum  10 oem_id[6]  16 oem_table_id[8]
 *   24 oem_revision  28 creator_id  32 creator_revision  36 safe_hook (phys)  40 MDI ...
 * </pre>
 */
public final class Mbft {
  public static final int SIGNATURE_OFFSET = 0;
  public static final int LENGTH_OFFSET = 4;
  public static final int REVISION_OFFSET = 8;
  public static final int CHECKSUM_OFFSET = 9;
  public static final int OEM_ID_OFFSET = 10;
  public static final int OEM_ID_LENGTH = 6;
  public static final int OEM_TABLE_ID_OFFSET = 16;
  public static final int OEM_REVISION_OFFSET = 24;
  public static final int CREATOR_ID_OFFSET = 28;
  public static final int CREATOR_REVISION_OFFSET = 32;
  public static final int SAFE_HOOK_OFFSET = 36;
  public static final int MDI_OFFSET = 40;

  /** The header before the MDI. */
  public static final int HEADER_SIZE = 40;

  /** Shortest valid table: header plus the oldest (26-byte) MDI. */
  public static final int MIN_LENGTH = HEADER_SIZE + Mdi.MIN_BYTES;

  /** "mBFT" as a little-endian u32. */
  public static final long SIGNATURE = Ascii.tag32("mBFT");

  /** MEMDISK keeps the table 16-byte aligned inside its block; the scan steps by this. */
  public static final int ALIGNMENT = 16;

  private ReadableGuestMemory memory;
  private long address;

  public Mbft wrap(ReadableGuestMemory memory, long address) {
    this.memory = memory;
    this.address = address;
    return this;
  }

  public long address() {
    return address;
  }

  public long signature() {
    return memory.u32(address + SIGNATURE_OFFSET);
  }

  public long length() {
    return memory.u32(address + LENGTH_OFFSET);
  }

  public int revision() {
    return memory.u8(address + REVISION_OFFSET);
  }

  public int checksumByte() {
    return memory.u8(address + CHECKSUM_OFFSET);
  }

  public String oemId() {
    long v = memory.u32(address + OEM_ID_OFFSET) | ((long) memory.u16(address + 14) << 32);
    return Ascii.text(v, OEM_ID_LENGTH);
  }

  public String oemTableId() {
    return Ascii.text(memory.u64(address + OEM_TABLE_ID_OFFSET), 8);
  }

  public long safeHook() {
    return memory.u32(address + SAFE_HOOK_OFFSET);
  }

  public long mdiAddress() {
    return address + MDI_OFFSET;
  }

  /** Sum of {@code length} bytes from the table start, mod 256 (0 for a valid table). */
  public int sum(int length) {
    int s = 0;
    long a = address;
    int i = 0;
    for (; i + 8 <= length; i += 8) {
      long v = memory.u64(a + i);
      for (int k = 0; k < 8; k++) {
        s += (int) (v >>> (8 * k)) & 0xFF;
      }
    }
    for (; i < length; i++) {
      s += memory.u8(a + i);
    }
    return s & 0xFF;
  }
}
