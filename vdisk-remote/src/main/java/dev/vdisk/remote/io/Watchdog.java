package dev.vdisk.remote.io;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Closes a channel when a blocking exchange (a handshake, a connect) overruns its deadline:
 * blocking channel reads have no timeout of their own, and closing the channel is what wakes them.
 */
public final class Watchdog implements AutoCloseable {
  private static final ScheduledThreadPoolExecutor TIMER = newTimer();

  private final ScheduledFuture<?> future;

  private Watchdog(ScheduledFuture<?> future) {
    this.future = future;
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
    return new Watchdog(
        TIMER.schedule(
            () -> {
              try {
                target.close();
              } catch (IOException ignored) {
                // Best effort: the blocked thread sees the close either way.
              }
            },
            timeout.toNanos(),
            TimeUnit.NANOSECONDS));
  }

  /** True when the deadline passed and the target was closed. */
  public boolean fired() {
    return future.isDone() && !future.isCancelled();
  }

  @Override
  public void close() {
    future.cancel(false);
  }
}
