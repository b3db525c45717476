package dev.vdisk.virtio.blk;

import dev.vdisk.virtio.queue.CounterArray;
import dev.vdisk.virtio.queue.QueueError;
import dev.vdisk.virtio.queue.Virtqueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Cumulative counters of one queue index, kept across driver sessions (device resets). Two counter
 * arrays with the same layout keep the single-writer rule of {@link CounterArray}: {@link #proc} is
 * written by the thread processing the queue, {@link #done} by whoever completes requests (the same
 * thread for synchronous backends, the holder of the completion lock for asynchronous ones).
 * Readers add both.
 */
final class BlkQueueStats {
  static final int REQUESTS = 0; // + BlkRequestType.STAT_*
  static final int BYTES_IN = REQUESTS + BlkRequestType.STAT_COUNT;
  static final int BYTES_OUT = BYTES_IN + 1;
  static final int COMPLETED = BYTES_OUT + 1;
  static final int ODD_FLUSHES = COMPLETED + 1;
  static final int HISTOGRAM = ODD_FLUSHES + 1;
  static final int HISTOGRAM_BUCKETS = 11;
  static final int ERRORS = HISTOGRAM + HISTOGRAM_BUCKETS; // + BlkError ordinal
  static final int COUNT = ERRORS + BlkError.COUNT;

  // Queue-level counters of finished sessions, folded in at reset (one writer: the lifecycle lock).
  private static final int RETIRED_SENT = QueueError.COUNT;
  private static final int RETIRED_SUPPRESSED = RETIRED_SENT + 1;
  private static final int RETIRED_NOT_IN_FLIGHT = RETIRED_SUPPRESSED + 1;

  final int index;
  final CounterArray proc = new CounterArray(COUNT);
  final CounterArray done = new CounterArray(COUNT);
  final AtomicLong kicks = new AtomicLong();
  private final CounterArray retired = new CounterArray(QueueError.COUNT + 3);

  BlkQueueStats(int index) {
    this.index = index;
  }

  /**
   * Chain-length histogram bucket of a chain of {@code n} descriptors: 1, 2, 3, 4, 5-8, 9-16,
   * 17-32, 33-64, 65-128, 129-256, more.
   */
  static int histogramBucket(int n) {
    if (n <= 4) {
      return Math.max(0, n - 1);
    }
    int log = 32 - Integer.numberOfLeadingZeros(n - 1); // ceil(log2 n)
    return Math.min(HISTOGRAM_BUCKETS - 1, log + 1);
  }

  /** Lower bound of each histogram bucket, for reports. */
  static final int[] HISTOGRAM_LOWER = {1, 2, 3, 4, 5, 9, 17, 33, 65, 129, 257};

  long get(int counter) {
    return proc.get(counter) + done.get(counter);
  }

  /** Adds a finished session's queue counters. */
  void retire(Virtqueue q) {
    for (QueueError e : QueueError.values()) {
      retired.add(e.ordinal(), q.errorCount(e));
    }
    retired.add(RETIRED_SENT, q.interruptsSent());
    retired.add(RETIRED_SUPPRESSED, q.interruptsSuppressed());
    retired.add(RETIRED_NOT_IN_FLIGHT, q.usedNotInFlight());
  }

  long retiredQueueError(QueueError e) {
    return retired.get(e.ordinal());
  }

  long retiredInterruptsSent() {
    return retired.get(RETIRED_SENT);
  }

  long retiredInterruptsSuppressed() {
    return retired.get(RETIRED_SUPPRESSED);
  }

  long retiredUsedNotInFlight() {
    return retired.get(RETIRED_NOT_IN_FLIGHT);
  }
}
