package dev.vdisk.virtio.pci;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transport's counters, lock-free, and a rate-limited log line per guest error: an error is
 * logged on its 1st, 2nd, 4th, 8th ... occurrence, so a guest hammering one bad register costs a
 * counter increment, not a log flood.
 */
final class PciCounters {
  private static final Logger LOG = LoggerFactory.getLogger(VirtioPciDevice.class);
  private static final PciCounter[] ALL = PciCounter.values();

  private final AtomicLongArray counts = new AtomicLongArray(ALL.length);
  private final String name;

  PciCounters(String name) {
    this.name = name;
  }

  /** Counts an event that is not a guest error. */
  void event(PciCounter counter) {
    counts.incrementAndGet(counter.ordinal());
  }

  /** Counts a guest error; logs it when its count reaches a power of two. */
  void guestError(PciCounter counter, String format, Object... args) {
    long n = counts.incrementAndGet(counter.ordinal());
    if ((n & (n - 1)) == 0 && LOG.isWarnEnabled()) {
      LOG.warn("{}: {} (#{}): guest {}", name, counter, n, String.format(format, args));
    }
  }

  long get(PciCounter counter) {
    return counts.get(counter.ordinal());
  }

  Map<PciCounter, Long> snapshot() {
    Map<PciCounter, Long> m = new EnumMap<>(PciCounter.class);
    for (PciCounter c : ALL) {
      m.put(c, counts.get(c.ordinal()));
    }
    return m;
  }
}
