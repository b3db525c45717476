package dev.vdisk.bench;

import dev.vdisk.virtio.DeviceNotifier;

/**
 * The VMM side of interrupts in the benchmarks: counts used-buffer notifications per queue (one
 * writer per queue, a cache line apart so two queues' threads do not share one) and refuses the
 * rest, since a benchmark ring that needs a reset is a broken benchmark.
 */
public final class CountingNotifier implements DeviceNotifier {
  private static final int STRIDE = 16; // 128 bytes between counters
  private final long[] counts;

  public CountingNotifier(int queues) {
    counts = new long[(queues + 1) * STRIDE];
  }

  @Override
  public void usedBuffers(int queue) {
    counts[(queue + 1) * STRIDE]++;
  }

  /** Notifications sent for {@code queue} (read by the queue's own thread). */
  public long interrupts(int queue) {
    return counts[(queue + 1) * STRIDE];
  }

  @Override
  public void configChanged() {}

  @Override
  public void needsReset(String reason) {
    throw new IllegalStateException("device asked for a reset: " + reason);
  }
}
