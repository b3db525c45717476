package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;

/**
 * Flyweight over a Win9x "safe MBR hook" header (spec §3), the structure an INT 13h hooker puts at
 * the start of its handler so an OS can find it and the previous vector.
 *
 * <pre>
 *   0      3      11       19     23     27     31
 *   +------+------+--------+------+------+------+
 *   | jump | $INT13SF | vendor | prev | flags | mbft (MEMDISK only)
 *   +------+------+--------+------+------+------+
 * </pre>
 *
 * Getters read guest memory on every call (nothing is copied); call {@link #fits} first.
 */
public final class SafeHook {
  public static final int JUMP_OFFSET = 0;
  public static final int SIGNATURE_OFFSET = 3;
  public static final int VENDOR_OFFSET = 11;
  public static final int PREV_OFFSET = 19;
  public static final int FLAGS_OFFSET = 23;

  /** MEMDISK's extension: physical address of its mBFT. */
  public static final int MBFT_OFFSET = 27;

  /** Size of the generic structure. */
  public static final int SIZE = 27;

  /** Size of MEMDISK's structure (with the mBFT pointer). */
  public static final int MEMDISK_SIZE = 31;

  /** "$INT13SF" as a little-endian u64. */
  public static final long SIGNATURE = Ascii.tag64("$INT13SF");

  public static final long VENDOR_MEMDISK = Ascii.tag64("MEMDISK ");
  public static final long VENDOR_GRUB4DOS = Ascii.tag64("GRUB4DOS");

  /** Flags bit 0: an OS driver took this hook (GRUB4DOS presets it). */
  public static final long FLAG_CLAIMED = 1;

  private ReadableGuestMemory memory;
  private long address;

  public SafeHook wrap(ReadableGuestMemory memory, long address) {
    this.memory = memory;
    this.address = address;
    return this;
  }

  public long address() {
    return address;
  }

  /** True when {@code size} bytes from the hook are mapped (use {@link #SIZE} or MEMDISK_SIZE). */
  public boolean fits(int size) {
    return Bounds.mapped(memory, address, size);
  }

  public boolean hasSignature() {
    return memory.u64(address + SIGNATURE_OFFSET) == SIGNATURE;
  }

  /** The 8 signature bytes as a little-endian u64. */
  public long signature() {
    return memory.u64(address + SIGNATURE_OFFSET);
  }

  /** The 8 vendor bytes as a little-endian u64 (compare with the VENDOR_ constants). */
  public long vendor() {
    return memory.u64(address + VENDOR_OFFSET);
  }

  /** Previous INT 13h vector (offset low, segment high). */
  public long prev() {
    return memory.u32(address + PREV_OFFSET);
  }

  public long flags() {
    return memory.u32(address + FLAGS_OFFSET);
  }

  /** MEMDISK only: physical address of the mBFT. */
  public long mbft() {
    return memory.u32(address + MBFT_OFFSET);
  }
}
