package dev.vdisk.memdisk;

import dev.vdisk.api.MemoryRegion;
import dev.vdisk.api.ReadableGuestMemory;

/**
 * Non-throwing range checks against a guest memory image. The parsers ask these before every
 * structure read, so a bad pointer becomes a rejection reason instead of an exception; {@code
 * GuestMemory} still checks every single access underneath.
 */
final class Bounds {
  private Bounds() {}

  /** True when [address, address+length) lies inside one mapped region (overflow-safe). */
  static boolean mapped(ReadableGuestMemory memory, long address, long length) {
    return length >= 0 && memory.regionIndex(address, length) >= 0;
  }

  /**
   * True when every byte of [address, address+length) is mapped, possibly across adjacent regions.
   * Bounded by the number of regions.
   */
  static boolean covered(ReadableGuestMemory memory, long address, long length) {
    if (length < 0) {
      return false;
    }
    long a = address;
    long remaining = length;
    for (int hops = 0; remaining > 0 && hops <= memory.regionCount(); hops++) {
      int i = memory.regionIndex(a, 1);
      if (i < 0) {
        return false;
      }
      MemoryRegion r = memory.region(i);
      long available = r.guestLast() - a + 1; // 0 only when the region ends at 2^64-1 exactly
      long n = available <= 0 ? remaining : Math.min(available, remaining);
      a += n;
      remaining -= n;
    }
    return remaining == 0;
  }

  /** True when [a, a+aLength) and [b, b+bLength) share a byte (unsigned, lengths > 0). */
  static boolean overlaps(long a, long aLength, long b, long bLength) {
    return Long.compareUnsigned(a, b + bLength) < 0 && Long.compareUnsigned(b, a + aLength) < 0;
  }

  /** Total mapped bytes (saturating), for reports. */
  static long mappedBytes(ReadableGuestMemory memory) {
    long total = 0;
    for (int i = 0; i < memory.regionCount(); i++) {
      long s = memory.region(i).size();
      total = total + s < total ? Long.MAX_VALUE : total + s;
    }
    return total;
  }
}
