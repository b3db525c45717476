package dev.vdisk.remote.io;

import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Logs peer misbehaviour at most a few times per second, so a hostile or broken peer cannot flood
 * the log; suppressed lines are counted and the count is reported with the next line.
 */
public final class RateLimitedLog {
  private static final long WINDOW_NANOS = 1_000_000_000L;
  private static final int PER_WINDOW = 10;

  private final Logger log;
  private final AtomicLong windowStart = new AtomicLong(System.nanoTime());
  private final AtomicLong inWindow = new AtomicLong();
  private final AtomicLong suppressed = new AtomicLong();

  public RateLimitedLog(Logger log) {
    this.log = log;
  }

  public void warn(String message) {
    long now = System.nanoTime();
    long start = windowStart.get();
    if (now - start > WINDOW_NANOS && windowStart.compareAndSet(start, now)) {
      inWindow.set(0);
    }
    if (inWindow.incrementAndGet() > PER_WINDOW) {
      suppressed.incrementAndGet();
      return;
    }
    long s = suppressed.getAndSet(0);
    if (s > 0) {
      log.warn("{} ({} similar lines suppressed)", message, s);
    } else {
      log.warn(message);
    }
  }
}
