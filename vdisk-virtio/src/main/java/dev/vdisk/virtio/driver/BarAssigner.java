package dev.vdisk.virtio.driver;

import static dev.vdisk.virtio.pci.PciHeader.*;

/**
 * Sizes and places a function's BARs as firmware does (PCI 3.0 §6.2.5.1): for each BAR write all
 * ones, read back the mask, restore; the size is the two's complement of the address bits; a 64-bit
 * BAR's upper dword is sized the same way. Memory BARs are placed naturally aligned in a 32-bit
 * window, or (64-bit BARs, when asked) in a window above 4 GiB.
 */
public final class BarAssigner {
  private long next32;
  private long next64;
  private final boolean place64High;

  /**
   * @param window32 first address of the window below 4 GiB
   * @param window64 first address of the window above 4 GiB (used only when {@code place64High})
   * @param place64High put 64-bit BARs above 4 GiB, as OVMF does
   */
  public BarAssigner(long window32, long window64, boolean place64High) {
    this.next32 = window32;
    this.next64 = window64;
    this.place64High = place64High;
  }

  /** Sizes every BAR of the function, assigns the memory ones and returns them by index. */
  public PciBar[] assign(PciConfigAccess cfg) {
    PciBar[] bars = new PciBar[BAR_COUNT];
    for (int i = 0; i < BAR_COUNT; i++) {
      int off = barOffset(i);
      long orig = cfg.u32(off);
      cfg.write32(off, 0xFFFF_FFFFL);
      long mask = cfg.u32(off);
      cfg.write32(off, orig);
      if (mask == 0) {
        continue;
      }
      if ((mask & BAR_IO) != 0) {
        long size = (~(mask & ~0x3L) + 1) & 0xFFFF_FFFFL;
        bars[i] = new PciBar(i, 0, size, false, false, true);
        continue; // no I/O window in this model
      }
      boolean is64 = (mask & 0x6) == BAR_MEM_TYPE_64;
      boolean prefetch = (mask & BAR_PREFETCHABLE) != 0;
      long full = mask & 0xFFFF_FFF0L;
      if (is64) {
        if (i == BAR_COUNT - 1) {
          throw new DriverRefusedException("BAR5 claims to be the low half of a 64-bit BAR");
        }
        long hiOrig = cfg.u32(off + 4);
        cfg.write32(off + 4, 0xFFFF_FFFFL);
        long hi = cfg.u32(off + 4);
        cfg.write32(off + 4, hiOrig);
        full |= hi << 32;
      } else {
        full |= 0xFFFF_FFFF_0000_0000L;
      }
      long size = ~full + 1;
      if (size == 0 || Long.bitCount(size) != 1) {
        throw new DriverRefusedException(
            String.format("BAR%d sizing mask 0x%x is not a power-of-two size", i, full));
      }
      long base;
      if (is64 && place64High) {
        base = alignUp(next64, size);
        next64 = base + size;
      } else {
        base = alignUp(next32, size);
        next32 = base + size;
      }
      cfg.write32(off, base);
      if (is64) {
        cfg.write32(off + 4, base >>> 32);
      }
      bars[i] = new PciBar(i, base, size, is64, prefetch, false);
      if (is64) {
        i++;
      }
    }
    return bars;
  }

  private static long alignUp(long v, long a) {
    return (v + a - 1) & -a;
  }
}
