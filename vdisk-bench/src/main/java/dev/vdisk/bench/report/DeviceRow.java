package dev.vdisk.bench.report;

import dev.vdisk.bench.BlkWorkload;
import dev.vdisk.bench.RingFixture;
import dev.vdisk.bench.Workload;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One hot-loop result joined with the memcpy baseline of the same copies.
 *
 * @param result the JMH row ({@code VirtioBlkBench}, score in ns per request per thread)
 * @param workload what the requests were
 * @param queueDepth requests made available per kick
 * @param layout DIRECT or INDIRECT chains
 * @param queues queues (one thread each)
 * @param copyNs memcpy cost of one request's data in the same run, NaN when it moves no data or no
 *     baseline was measured
 */
public record DeviceRow(
    BenchResult result,
    BlkWorkload workload,
    int queueDepth,
    String layout,
    int queues,
    double copyNs) {

  /** Benchmark class and parameter names this record reads. */
  public static final String CLASS = "VirtioBlkBench";

  public static final String WORKLOAD = "workload";
  public static final String LAYOUT = "layout";

  /** Methods are {@code qd<N>} (one queue) and {@code twoQueuesQd<N>} (two queues, two threads). */
  private static final Pattern METHOD = Pattern.compile("(twoQueues)?[qQ]d(\\d+)");

  static DeviceRow of(BenchResult r, Baseline baseline) {
    BlkWorkload w = BlkWorkload.valueOf(r.param(WORKLOAD));
    // The offsets a ring cycles through: one per chain it holds (see RingFixture).
    int slots =
        "INDIRECT".equals(r.param(LAYOUT)) ? RingFixture.QUEUE_SIZE : RingFixture.DIRECT_CHAINS;
    double copy =
        switch (w.kind) {
          case READ -> baseline.readNs(w.size, slots);
          case WRITE -> baseline.writeNs(w.size, slots);
          case MIXED -> {
            double reads = 0;
            for (int i = 0; i < Workload.SLOTS; i++) {
              reads += Workload.mixedIsRead(i) ? 1 : 0;
            }
            double f = reads / Workload.SLOTS;
            yield f * baseline.readNs(w.size, slots) + (1 - f) * baseline.writeNs(w.size, slots);
          }
          case FLUSH, DISCARD -> Double.NaN;
        };
    Matcher m = METHOD.matcher(r.method());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          CLASS + " method " + r.method() + " (expected qd<N> or twoQueuesQd<N>)");
    }
    return new DeviceRow(
        r, w, Integer.parseInt(m.group(2)), r.param(LAYOUT), Math.max(1, r.threads()), copy);
  }

  /**
   * Time one thread spends per request: CPU time when measured ({@link
   * BenchResult#effectiveScore()}), else wall-clock time.
   */
  public double nsPerRequest() {
    return result.effectiveScore();
  }

  /** Requests per second over all queues together, each queue's thread on its own core. */
  public double requestsPerSecond() {
    return queues * 1e9 / nsPerRequest();
  }

  /** Data bytes per second over all queues (NaN for workloads that move no data). */
  public double bytesPerSecond() {
    return workload.copiesData() ? requestsPerSecond() * workload.size : Double.NaN;
  }

  /** Memcpy time over device time: the fraction of memcpy bandwidth reached. */
  public double fractionOfMemcpy() {
    return copyNs / nsPerRequest();
  }

  /** Device time per request above the copy of its data (the whole time when there is no copy). */
  public double nsAboveCopy() {
    return workload.copiesData() ? nsPerRequest() - copyNs : nsPerRequest();
  }

  public String label() {
    return workload
        + " qd"
        + queueDepth
        + " "
        + layout.toLowerCase(java.util.Locale.ROOT)
        + (queues > 1 ? " " + queues + "q" : "");
  }
}
