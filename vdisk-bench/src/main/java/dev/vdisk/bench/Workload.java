package dev.vdisk.bench;

import java.util.SplittableRandom;

/**
 * The access pattern shared by the device benchmarks and their memcpy baseline, so that "fraction
 * of memcpy" compares the same copies: a disk of {@link #DISK_BYTES}, {@link #SLOTS} request slots
 * (one per queue entry) each aimed at a fixed random, size-aligned offset, and a pool of {@link
 * #BUFFERS} guest data buffers that slot {@code i} uses as buffer {@code i % BUFFERS}.
 *
 * <p>The footprint (8 MiB of disk, at most 2 MiB of buffers) stays inside this machine class's L3
 * cache on purpose: the targets are about the device's own cost with the data in cache, not about
 * DRAM bandwidth.
 */
public final class Workload {
  /** RAM disk size, and the memcpy baseline's source/target size. */
  public static final long DISK_BYTES = 8L << 20;

  /** Request slots: one per entry of a 256-entry queue. */
  public static final int SLOTS = 256;

  /** Distinct guest data buffers the slots cycle through. */
  public static final int BUFFERS = 32;

  /** Seed of every random choice, so that runs compare the same pattern. */
  public static final long SEED = 0x5eed_0f_b10cL;

  private Workload() {}

  /** {@link #SLOTS} random offsets, aligned to {@code size}, each with room for {@code size}. */
  public static long[] randomOffsets(int size) {
    if (size <= 0 || DISK_BYTES % size != 0) {
      throw new IllegalArgumentException(
          "request size "
              + size
              + " (expected: > 0 and dividing the disk size "
              + DISK_BYTES
              + ")");
    }
    SplittableRandom random = new SplittableRandom(SEED + size);
    long positions = DISK_BYTES / size;
    long[] offsets = new long[SLOTS];
    for (int i = 0; i < SLOTS; i++) {
      offsets[i] = random.nextLong(positions) * size;
    }
    return offsets;
  }

  /**
   * Which request kind slot {@code i} carries in the mixed workload: true for a read. Exactly 70%
   * of every 10 consecutive slots read, interleaved rather than grouped, so any batch is close to
   * 70/30.
   */
  public static boolean mixedIsRead(int slot) {
    return (slot * 7) % 10 < 7;
  }
}
