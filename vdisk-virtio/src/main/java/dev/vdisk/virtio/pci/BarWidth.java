package dev.vdisk.virtio.pci;

/**
 * Width of the virtio memory BAR. 64-bit is the default (aerovblk requires it). QEMU 7.2's
 * multi-process proxy registers every BAR dword as a BAR of its own, so a 64-bit BAR's upper dword
 * turns into a bogus I/O BAR there; the QEMU attachment uses {@link #BITS_32}.
 */
public enum BarWidth {
  /** One dword, memory type 00b: the BAR must be placed below 4 GiB. */
  BITS_32,
  /** Two dwords, memory type 10b: the BAR and the next one form a 64-bit address. */
  BITS_64;

  /** Number of BAR slots (dwords) the BAR occupies. */
  public int slots() {
    return this == BITS_64 ? 2 : 1;
  }
}
