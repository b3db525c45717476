package dev.vdisk.remote.bench;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.remote.nbd.NbdClient;
import dev.vdisk.remote.nbd.NbdTarget;
import java.net.URI;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Benchmark (not a test): 4 KiB random reads through {@link NbdClient} at a given queue depth for a
 * given time, one connection; prints IOPS. Run by {@code vdisk-remote/bench/nbd-bench.sh}.
 *
 * <p>Usage: {@code NbdRandomReadBench URI QUEUE_DEPTH SECONDS}
 */
public final class NbdRandomReadBench {
  private static final int IO = 4096;

  public static void main(String[] args) throws Exception {
    URI uri = URI.create(args[0]);
    int qd = Integer.parseInt(args[1]);
    double seconds = Double.parseDouble(args[2]);
    try (NbdClient c = NbdClient.open(NbdTarget.parse(uri), Duration.ofSeconds(30), true)) {
      long blocks = c.size() / IO;
      BytesStore<?, Void> buf = BytesStore.nativeStoreWithFixedCapacity((long) qd * IO);
      try {
        run(c, blocks, buf, qd, 1.0); // warm-up
        long ops = run(c, blocks, buf, qd, seconds);
        System.out.printf("vdisk-nbd qd=%d iops=%.0f%n", qd, ops / seconds);
      } finally {
        buf.releaseLast();
      }
    }
  }

  /** Keeps {@code qd} reads in flight; each completion submits the next until time is up. */
  private static long run(NbdClient c, long blocks, BytesStore<?, Void> buf, int qd, double seconds)
      throws InterruptedException {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    AtomicLong ops = new AtomicLong();
    CountDownLatch idle = new CountDownLatch(qd);
    AsyncBlockDevice.Completion[] self = new AsyncBlockDevice.Completion[1];
    // Completions may run on the client's reader thread: one generator per thread, split up front
    // under a lock because SplittableRandom itself is not thread-safe.
    SplittableRandom seed = new SplittableRandom(42);
    ThreadLocal<SplittableRandom> rnd =
        ThreadLocal.withInitial(
            () -> {
              synchronized (seed) {
                return seed.split();
              }
            });
    self[0] =
        (token, error) -> {
          if (error != null) {
            throw new IllegalStateException(error);
          }
          ops.incrementAndGet();
          if (System.nanoTime() - end < 0) {
            long off = rnd.get().nextLong(blocks) * IO;
            c.submit(AsyncBlockDevice.OP_READ, off, buf, token * IO, IO, token, self[0]);
          } else {
            idle.countDown();
          }
        };
    for (int i = 0; i < qd; i++) {
      long off = rnd.get().nextLong(blocks) * IO;
      c.submit(AsyncBlockDevice.OP_READ, off, buf, (long) i * IO, IO, i, self[0]);
    }
    idle.await();
    return ops.get();
  }
}
