package dev.vdisk.qemu;

import org.slf4j.Logger;

/**
 * Logs peer mistakes without letting a misbehaving peer flood the log: the first {@link #BURST}
 * lines are written, then at most one per second with the number suppressed since. Counts every
 * error. Used from the serving thread only.
 */
final class ProtocolErrorLog {
  static final int BURST = 50;
  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final Logger log;
  private long errors;
  private long suppressed;
  private long lastLogNanos;

  ProtocolErrorLog(Logger log) {
    this.log = log;
  }

  void error(String message) {
    errors++;
    long now = System.nanoTime();
    if (errors <= BURST || now - lastLogNanos >= INTERVAL_NANOS) {
      lastLogNanos = now;
      if (suppressed > 0) {
        log.error("{} ({} similar errors suppressed)", message, suppressed);
        suppressed = 0;
      } else {
        log.error(message);
      }
    } else {
      suppressed++;
    }
  }

  long errors() {
    return errors;
  }
}
