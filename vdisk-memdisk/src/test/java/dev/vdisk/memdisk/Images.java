package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemory;

/** Small guest memory images with a BIOS-like low memory (IVT pointing into F000). */
final class Images {
  static final long BIOS_INT13 = SyntheticMemdisk.vector(0xF000, 0xE3FE);

  private Images() {}

  /** {@code size} bytes at 0 with the INT 13h vector at the BIOS and 639 KiB base memory. */
  static GuestMemory pc(long size) {
    GuestMemory m = GuestMemory.allocate(0, size);
    m.putU32(0x4C, BIOS_INT13);
    m.putU32(0x54, SyntheticMemdisk.vector(0xF000, 0xF859));
    m.putU16(0x413, 639);
    // SeaBIOS has no $INT13SF at its entry point; leave the ROM area zero.
    return m;
  }
}
