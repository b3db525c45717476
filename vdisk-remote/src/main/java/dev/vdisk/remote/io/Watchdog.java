package dev.vdisk.remote.io;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closes a channel when a blocking exchange (a handshake, a connect) overruns its deadline:
 * blocking channel reads have no timeout of their own, and closing the channel is what wakes them.
 */
public final class Watchdog implements AutoCloseable {
  private static final ScheduledThreadPoolExecutor TIMER = newTimer();

  private final ScheduledFuture<?> future;
  private final AtomicBoolean fired;

  private Watchdog(ScheduledFuture<?> future, AtomicBoolean fired) {
    this.future = future;
    this.fired = fired;
  }

  private static ScheduledThreadPoolExecutor newTimer() {
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread th = new Thread(r, "vdisk-remote-watchdog");
              th.setDaemon(true);
              return th;
            });
    t.setRemoveOnCancelPolicy(true);
    return t;
  }

  /** Arms a watchdog that closes {@code target} after {@code timeout} unless closed first. */
  public static Watchdog closeAfter(Closeable target, Duration timeout) {
    // Set before the close: the blocked thread can wake and ask fired() before the timer task
    // (and so its future) has finished.
    AtomicBoolean fired = new AtomicBoolean();
    return new Watchdog(
        TIMER.schedule(
            () -> {
              fired.set(true);
              try {
                target.close();
              } catch (IOException ignored) {
                // Best effort: the blocked thread sees the close either way.
              }
            },
            timeout.toNanos(),
            TimeUnit.NANOSECONDS),
        fired);
  }

  /** True when the deadline passed and the target was closed. */
  public boolean fired() {
    return fired.get();
  }

  @Override
  public void close() {
    future.cancel(false);
  }
}
