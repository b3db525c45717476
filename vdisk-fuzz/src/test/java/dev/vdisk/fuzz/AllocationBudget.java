package dev.vdisk.fuzz;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;

/**
 * The "no unbounded allocation" oracle: heap bytes the current thread allocates between {@link
 * #start()} and {@link #check(String)} must stay under a fixed budget, whatever lengths, counts and
 * sizes the hostile input declares. A parser that sized a buffer from a guest-controlled length (up
 * to 4 GiB) would blow the budget long before it blew the heap. Uses HotSpot's per-thread
 * allocation counter (com.sun.management.ThreadMXBean), which is exact and costs a few ns.
 *
 * <p>An input during which the JVM loaded classes is not judged: loading (and Jazzer instrumenting)
 * a class on first use allocates megabytes on the using thread. That happens once per class, so an
 * input that really allocates without bound is judged on its next occurrence (the fuzzer re-runs
 * interesting inputs and their neighbours constantly).
 */
final class AllocationBudget {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  static {
    if (!THREADS.isThreadAllocatedMemorySupported()) {
      throw new IllegalStateException("this JVM cannot count allocated bytes per thread");
    }
    THREADS.setThreadAllocatedMemoryEnabled(true);
  }

  private final long budget;
  private static final ClassLoadingMXBean CLASSES = ManagementFactory.getClassLoadingMXBean();

  private long start;
  private long classesAtStart;
  private long worst;
  private long skipped;

  AllocationBudget(long budget) {
    this.budget = budget;
  }

  void start() {
    classesAtStart = CLASSES.getTotalLoadedClassCount();
    start = THREADS.getCurrentThreadAllocatedBytes();
  }

  /** Throws if more than the budget was allocated since {@link #start()}; returns the bytes. */
  long check(String what) {
    long used = THREADS.getCurrentThreadAllocatedBytes() - start;
    if (CLASSES.getTotalLoadedClassCount() != classesAtStart) {
      skipped++;
      return used;
    }
    if (used > budget) {
      throw new AssertionError(
          what + " allocated " + used + " heap bytes (budget: " + budget + " per input)");
    }
    worst = Math.max(worst, used);
    return used;
  }

  /** Inputs not judged because classes were loaded meanwhile. */
  long skipped() {
    return skipped;
  }

  /** Largest allocation seen by {@link #check} so far (for the campaign log). */
  long worst() {
    return worst;
  }
}
