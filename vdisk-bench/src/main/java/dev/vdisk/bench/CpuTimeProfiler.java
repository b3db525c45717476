package dev.vdisk.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * How much of a core the benchmark threads really had, for machines shared with other work ({@code
 * -prof dev.vdisk.bench.CpuTimeProfiler}).
 *
 * <p>Per iteration it reads the CPU time of JMH's worker threads ({@code *-jmh-worker-*}) and
 * reports {@code cpu.util}, the share of the iteration's wall time each worker was on a CPU (1.0 on
 * an idle machine), and {@code cpu.time.norm}, the primary score scaled by that share: the CPU time
 * per operation, which stays close to the idle-machine score while other processes take the CPU
 * away (it still pays for the caches they pollute). A wall-clock score with {@code cpu.util} well
 * below 1 is a measurement of the neighbours.
 */
public final class CpuTimeProfiler implements InternalProfiler {
  private static final String WORKER = "-jmh-worker-";
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private long startNanos;
  private long startCpu;

  @Override
  public String getDescription() {
    return "CPU share of the JMH worker threads, and CPU time per operation";
  }

  @Override
  public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
    startCpu = workerCpuNanos();
    startNanos = System.nanoTime();
  }

  @Override
  public Collection<? extends Result> afterIteration(
      BenchmarkParams benchmarkParams, IterationParams iterationParams, IterationResult result) {
    long wall = System.nanoTime() - startNanos;
    long cpu = workerCpuNanos() - startCpu;
    List<Result> out = new ArrayList<>();
    if (wall <= 0 || cpu <= 0) {
      return out;
    }
    double util = (double) cpu / ((double) wall * benchmarkParams.getThreads());
    util = Math.min(util, 1.0);
    out.add(new ScalarResult("cpu.util", util, "share", AggregationPolicy.AVG));
    out.add(
        new ScalarResult(
            "cpu.time.norm",
            result.getPrimaryResult().getScore() * util,
            result.getScoreUnit(),
            AggregationPolicy.AVG));
    return out;
  }

  /**
   * Sum of the CPU time of the live JMH worker threads; worker threads persist across iterations.
   */
  private long workerCpuNanos() {
    long sum = 0;
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && t.getThreadName().contains(WORKER)) {
        long cpu = threads.getThreadCpuTime(t.getThreadId());
        if (cpu > 0) {
          sum += cpu;
        }
      }
    }
    return sum;
  }
}
