package dev.vdisk.bench.report;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The memcpy figures of one run ({@code MemcpyBench}), looked up by copy size and direction. */
public final class Baseline {
  public static final String CLASS = "MemcpyBench";
  public static final String READ_METHOD = "diskToBuffers";
  public static final String WRITE_METHOD = "buffersToDisk";

  private final Map<Integer, Double> read = new HashMap<>();
  private final Map<Integer, Double> write = new HashMap<>();

  Baseline(List<BenchResult> results) {
    for (BenchResult r : results) {
      if (!r.benchmarkClass().equals(CLASS)) {
        continue;
      }
      int size = r.intParam("size", -1);
      if (r.method().equals(READ_METHOD)) {
        read.put(size, r.score());
      } else if (r.method().equals(WRITE_METHOD)) {
        write.put(size, r.score());
      }
    }
  }

  /** ns per copy from the disk to a guest buffer, NaN when not measured. */
  public double readNs(int size) {
    return read.getOrDefault(size, Double.NaN);
  }

  /** ns per copy from a guest buffer to the disk, NaN when not measured. */
  public double writeNs(int size) {
    return write.getOrDefault(size, Double.NaN);
  }
}
