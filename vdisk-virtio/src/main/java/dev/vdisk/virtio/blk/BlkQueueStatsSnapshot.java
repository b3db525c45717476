package dev.vdisk.virtio.blk;

import dev.vdisk.virtio.queue.QueueError;
import dev.vdisk.virtio.queue.SplitQueue;

/**
 * Statistics of one queue: cumulative since the device was built (all sessions), except the ring
 * positions and the in-flight count, which describe the current session.
 *
 * @param index queue index
 * @param size queue size of the current session (the device's maximum when not running)
 * @param running the queue is running in the current session
 * @param broken the queue stopped on a ring-level fault (DEVICE_NEEDS_RESET)
 * @param requests requests by {@link BlkRequestType} statistics bucket ({@code STAT_*})
 * @param bytesIn bytes moved to the guest (reads, GET_ID, GET_LIFETIME)
 * @param bytesOut bytes moved from the guest (writes)
 * @param completed used entries published (requests completed, bad chains returned)
 * @param oddFlushes FLUSH requests with data or a non-zero sector (executed anyway)
 * @param errors failures by {@link BlkError} ordinal
 * @param queueErrors virtqueue rule violations by {@link QueueError} ordinal
 * @param kicks driver notifications received
 * @param interruptsSent used-buffer notifications sent
 * @param interruptsSuppressed notifications the driver suppressed (NO_INTERRUPT / used_event)
 * @param inFlight chains popped and not yet returned
 * @param lastAvailIdx the last avail.idx the device read
 * @param nextAvail the next avail index the device will consume
 * @param usedIdx the used.idx the device published last
 * @param chainLengthHistogram chains by descriptor count: 1, 2, 3, 4, 5-8, 9-16, 17-32, 33-64,
 *     65-128, 129-256, more
 */
public record BlkQueueStatsSnapshot(
    int index,
    int size,
    boolean running,
    boolean broken,
    long[] requests,
    long bytesIn,
    long bytesOut,
    long completed,
    long oddFlushes,
    long[] errors,
    long[] queueErrors,
    long kicks,
    long interruptsSent,
    long interruptsSuppressed,
    int inFlight,
    int lastAvailIdx,
    int nextAvail,
    int usedIdx,
    long[] chainLengthHistogram) {

  /** Requests of one {@link BlkRequestType} bucket. */
  public long requests(int bucket) {
    return requests[bucket];
  }

  public long errors(BlkError e) {
    return errors[e.ordinal()];
  }

  public long queueErrors(QueueError e) {
    return queueErrors[e.ordinal()];
  }

  /** Sum of all request failures (statuses other than OK, and chains returned without one). */
  public long totalErrors() {
    long n = 0;
    for (long e : errors) {
      n += e;
    }
    return n;
  }

  static BlkQueueStatsSnapshot of(BlkQueueStats s, BlkQueue live, int maxSize) {
    long[] requests = new long[BlkRequestType.STAT_COUNT];
    for (int i = 0; i < requests.length; i++) {
      requests[i] = s.get(BlkQueueStats.REQUESTS + i);
    }
    long[] errors = new long[BlkError.COUNT];
    for (int i = 0; i < errors.length; i++) {
      errors[i] = s.get(BlkQueueStats.ERRORS + i);
    }
    long[] histogram = new long[BlkQueueStats.HISTOGRAM_BUCKETS];
    for (int i = 0; i < histogram.length; i++) {
      histogram[i] = s.get(BlkQueueStats.HISTOGRAM + i);
    }
    SplitQueue q = live == null || live.isRetired() ? null : live.queue();
    long[] queueErrors = new long[QueueError.COUNT];
    for (QueueError e : QueueError.values()) {
      queueErrors[e.ordinal()] = s.retiredQueueError(e) + (q == null ? 0 : q.errorCount(e));
    }
    return new BlkQueueStatsSnapshot(
        s.index,
        q == null ? maxSize : q.size(),
        q != null && !live.isDead(),
        q != null && q.isBroken(),
        requests,
        s.get(BlkQueueStats.BYTES_IN),
        s.get(BlkQueueStats.BYTES_OUT),
        s.get(BlkQueueStats.COMPLETED),
        s.get(BlkQueueStats.ODD_FLUSHES),
        errors,
        queueErrors,
        s.kicks.get(),
        s.retiredInterruptsSent() + (q == null ? 0 : q.interruptsSent()),
        s.retiredInterruptsSuppressed() + (q == null ? 0 : q.interruptsSuppressed()),
        q == null ? 0 : q.inFlight(),
        q == null ? 0 : q.lastAvailIdx(),
        q == null ? 0 : q.nextAvail(),
        q == null ? 0 : q.usedIdx(),
        histogram);
  }
}
