package dev.vdisk.bench.report;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The memcpy figures of one run ({@code MemcpyBench}), looked up by copy size, direction and the
 * number of offsets cycled through (64 for direct rings, 256 for indirect ones); CPU time per copy
 * when it was measured, like every figure it is compared with. A result without a {@code slots}
 * parameter (older JSON files) stands for every slot count.
 */
public final class Baseline {
  public static final String CLASS = "MemcpyBench";
  public static final String READ_METHOD = "diskToBuffers";
  public static final String WRITE_METHOD = "buffersToDisk";

  /** Slot count standing for "any", for results without the parameter. */
  static final int ANY_SLOTS = -1;

  private final Map<Long, Double> read = new HashMap<>();
  private final Map<Long, Double> write = new HashMap<>();

  Baseline(List<BenchResult> results) {
    for (BenchResult r : results) {
      if (!r.benchmarkClass().equals(CLASS)) {
        continue;
      }
      long key = key(r.intParam("size", -1), r.intParam("slots", ANY_SLOTS));
      if (r.method().equals(READ_METHOD)) {
        read.put(key, r.effectiveScore());
      } else if (r.method().equals(WRITE_METHOD)) {
        write.put(key, r.effectiveScore());
      }
    }
  }

  private static long key(int size, int slots) {
    return ((long) size << 32) | (slots & 0xffff_ffffL);
  }

  private static double lookup(Map<Long, Double> m, int size, int slots) {
    Double exact = m.get(key(size, slots));
    return exact != null ? exact : m.getOrDefault(key(size, ANY_SLOTS), Double.NaN);
  }

  /**
   * ns per copy from the disk to a guest buffer over {@code slots} offsets, NaN if not measured.
   */
  public double readNs(int size, int slots) {
    return lookup(read, size, slots);
  }

  /**
   * ns per copy from a guest buffer to the disk over {@code slots} offsets, NaN if not measured.
   */
  public double writeNs(int size, int slots) {
    return lookup(write, size, slots);
  }
}
