package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkStatus.IOERR;
import static dev.vdisk.virtio.blk.BlkStatus.OK;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.driver.SplitRingDriver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Asynchronous backends, multi-queue concurrency and resets while requests are in flight. */
class BlkConcurrencyTest {
  private static final long MIB = 1 << 20;
  private static final Duration LIMIT = Duration.ofSeconds(60);

  /** Waits (bounded) until {@code n} used entries are collectable; returns the heads. */
  private static int[] waitUsed(SplitRingDriver ring, int n) {
    int[] heads = new int[n];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    for (int i = 0; i < n; ) {
      int h = ring.pollUsed();
      if (h >= 0) {
        heads[i++] = h;
      } else if (System.nanoTime() > deadline) {
        throw new AssertionError("only " + i + " of " + n + " completions arrived");
      } else {
        Thread.onSpinWait();
      }
    }
    return heads;
  }

  @Test
  void asyncBackendCompletesOutOfOrderFromAnotherThread() throws Exception {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(4 * MIB), false);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).build();
    try (BlkHarness h = new BlkHarness(d, -1L, true, 32 * MIB)) {
      int n = 32;
      long src = h.alloc(n * 4096L, 4096);
      h.fill(src, n * 4096, 17);
      int[] heads = new int[n];
      for (int i = 0; i < n; i++) {
        // Two segments per write: two backend ops per request.
        long a = src + 4096L * i;
        heads[i] =
            h.submit(
                0,
                BlkRequestType.OUT,
                8L * i,
                new long[] {a, a + 1024},
                new int[] {1024, 3072},
                false);
      }
      d.queueNotified(0);
      assertThat(h.rings[0].hasUsed()).isFalse();
      assertThat(d.stats().queue(0).inFlight()).isEqualTo(n);
      assertThat(disk.pendingCount()).isEqualTo(2 * n);
      Thread completer = new Thread(() -> disk.completeAll(new Random(1)));
      completer.start();
      completer.join(20_000);
      int[] done = waitUsed(h.rings[0], n);
      Arrays.sort(done);
      int[] expected = heads.clone();
      Arrays.sort(expected);
      assertThat(done).isEqualTo(expected);
      for (int head : heads) {
        assertThat(h.clients[0].status(head)).isEqualTo(OK);
      }
      assertThat(d.stats().queue(0).inFlight()).isZero();
      assertThat(d.stats().queue(0).bytesOut()).isEqualTo(n * 4096L);

      // Read everything back through async reads completed in a different order.
      long dst = h.alloc(n * 4096L, 4096);
      for (int i = 0; i < n; i++) {
        h.submit(
            0, BlkRequestType.IN, 8L * i, new long[] {dst + 4096L * i}, new int[] {4096}, true);
      }
      d.queueNotified(0);
      disk.completeAll(new Random(2));
      waitUsed(h.rings[0], n);
      assertThat(h.bytes(dst, n * 4096)).isEqualTo(h.bytes(src, n * 4096));
      assertThat(d.stats().lateCompletions()).isZero();
    }
  }

  @Test
  void oneFailedOpFailsTheWholeRequest() {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), false);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(4096, 512);
      disk.failAt(2048);
      int head =
          h.submit(
              0, BlkRequestType.IN, 0, new long[] {buf, buf + 2048}, new int[] {2048, 2048}, true);
      d.queueNotified(0);
      disk.completeAll(new Random(3));
      waitUsed(h.rings[0], 1);
      assertThat(h.clients[0].status(head)).isEqualTo(IOERR);
      assertThat(d.stats().queue(0).errors(BlkError.BACKEND_IO_ERROR)).isEqualTo(1);
    }
  }

  @Test
  void asyncWritethroughFlushesBeforeCompleting() {
    AtomicInteger flushes = new AtomicInteger();
    BlockDevice counted = VirtioBlkDeviceTest.counting(RamDisk.create(MIB), flushes);
    TestAsyncDisk disk = new TestAsyncDisk(counted, false);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).writeback(false).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(512, 512);
      int head = h.submit(0, BlkRequestType.OUT, 0, new long[] {buf}, new int[] {512}, false);
      d.queueNotified(0);
      assertThat(disk.completeAll(new Random(4))).isEqualTo(1); // the write
      assertThat(h.rings[0].hasUsed()).isFalse(); // not stable yet
      assertThat(disk.completeAll(new Random(4))).isEqualTo(1); // the flush
      waitUsed(h.rings[0], 1);
      assertThat(h.clients[0].status(head)).isEqualTo(OK);
      assertThat(flushes.get()).isEqualTo(1);
    }
  }

  @Test
  void asyncDiscardAndWriteZeroesAndSyncOnlyTypes() {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), true);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long ranges = h.ranges(new long[][] {{0, 128, BlkConfigLayout.RANGE_F_UNMAP}});
      int head =
          h.submit(0, BlkRequestType.WRITE_ZEROES, 0, new long[] {ranges}, new int[] {16}, false);
      d.queueNotified(0);
      waitUsed(h.rings[0], 1);
      assertThat(h.clients[0].status(head)).isEqualTo(OK);
      long id = h.alloc(20, 4);
      head = h.submit(0, BlkRequestType.GET_ID, 0, new long[] {id}, new int[] {20}, true);
      d.queueNotified(0);
      waitUsed(h.rings[0], 1); // answered on the queue thread, pushed under the completion lock
      assertThat(h.clients[0].status(head)).isEqualTo(OK);
      assertThat(h.memory.u8(id)).isEqualTo('v');
    }
  }

  @Test
  void resetMidFlightDropsLateCompletionsAndNeverTouchesTheOldRings() throws Exception {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), false);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk).resetDrainTimeout(Duration.ofMillis(50)).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      long buf = h.alloc(8 * 4096L, 4096);
      int[] heads = new int[8];
      for (int i = 0; i < 8; i++) {
        heads[i] =
            h.submit(
                0, BlkRequestType.IN, 8L * i, new long[] {buf + 4096L * i}, new int[] {4096}, true);
      }
      d.queueNotified(0);
      assertThat(disk.pendingCount()).isEqualTo(8);
      assertTimeoutPreemptively(LIMIT, d::reset);
      assertThat(d.stats().abandonedOnReset()).isEqualTo(8);
      assertThat(d.isActive()).isFalse();
      // The backend finishes after the reset: nothing may reach the old rings.
      byte[] usedBefore = h.bytes(ring.usedAddr(), 4 + 8 * ring.size());
      disk.completeAll(new Random(5));
      assertThat(d.stats().lateCompletions()).isEqualTo(8);
      assertThat(ring.usedIdx()).isZero();
      assertThat(h.bytes(ring.usedAddr(), 4 + 8 * ring.size())).isEqualTo(usedBefore);
      for (int head : heads) {
        assertThat(h.clients[0].status(head)).isEqualTo(BlkRingClient.STATUS_UNANSWERED);
      }
      // The device works again after a fresh activation.
      ring.reset();
      d.activate(h.features, h.memory, List.of(ring.queueSetup(0)), h.notifier);
      int head = h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      d.queueNotified(0);
      disk.completeAll(new Random(6));
      waitUsed(ring, 1);
      assertThat(h.clients[0].status(head)).isEqualTo(OK);
    }
  }

  @Test
  void resetWaitsForInFlightRequestsThatFinishInTime() throws Exception {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), false);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk).resetDrainTimeout(Duration.ofSeconds(30)).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(4096, 4096);
      for (int i = 0; i < 4; i++) {
        h.submit(0, BlkRequestType.IN, i, new long[] {buf + 512L * i}, new int[] {512}, true);
      }
      d.queueNotified(0);
      CountDownLatch resetting = new CountDownLatch(1);
      Thread completer =
          new Thread(
              () -> {
                try {
                  resetting.await();
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  return;
                }
                disk.completeAll(new Random(7));
              });
      completer.start();
      resetting.countDown();
      assertTimeoutPreemptively(LIMIT, d::reset);
      completer.join();
      assertThat(h.rings[0].usedIdx()).isEqualTo(4);
      assertThat(d.stats().abandonedOnReset()).isZero();
      assertThat(d.stats().lateCompletions()).isZero();
    }
  }

  @Test
  void resetWhileAnotherThreadProcessesASyncQueue() throws Exception {
    RamDisk disk = RamDisk.create(4 * MIB);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      long buf = h.alloc(64 * 1024, 4096);
      AtomicBoolean stop = new AtomicBoolean();
      Thread kicker =
          new Thread(
              () -> {
                while (!stop.get()) {
                  d.queueNotified(0);
                  Thread.yield();
                }
              });
      kicker.start();
      for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 16 && ring.numFree() >= 3; i++) {
          h.submit(0, BlkRequestType.IN, i, new long[] {buf + 4096L * i}, new int[] {4096}, true);
        }
        assertTimeoutPreemptively(LIMIT, d::reset);
        // Whatever completed before the reset is consistent; nothing is in flight now.
        while (ring.pollUsed() >= 0) {
          // collect
        }
        ring.reset();
        d.activate(h.features, h.memory, List.of(ring.queueSetup(0)), h.notifier);
      }
      stop.set(true);
      kicker.join(20_000);
      assertThat(d.stats().internalErrors()).isZero();
      assertThat(d.stats().queue(0).queueErrors()).containsOnly(0);
    }
  }

  @Test
  void queuesRunConcurrentlyEachOnItsOwnThread() throws Exception {
    runMultiQueue(RamDisk.create(16 * MIB), 4, 1500);
  }

  @Test
  void queuesRunConcurrentlyWithAnAsyncBackend() throws Exception {
    try (TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(16 * MIB), true)) {
      runMultiQueue(disk, 4, 150);
    }
  }

  private static void runMultiQueue(BlockDevice disk, int queues, int rounds) throws Exception {
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).queues(queues).queueSize(64).build();
    try (BlkHarness h = new BlkHarness(d, -1L, false, 64 * MIB)) {
      assertThat(h.rings).hasSize(queues);
      long[] bufs = new long[queues];
      for (int q = 0; q < queues; q++) {
        bufs[q] = h.alloc(2 * 8 * 4096L, 4096);
      }
      ExecutorService pool = Executors.newFixedThreadPool(queues + 1);
      AtomicBoolean stop = new AtomicBoolean();
      // An extra thread kicks random queues all the time: kicks from several threads must not
      // break the one-thread-per-queue rule or lose work.
      Future<?> noise =
          pool.submit(
              () -> {
                Random r = new Random(9);
                while (!stop.get()) {
                  d.queueNotified(r.nextInt(queues));
                  Thread.yield();
                }
              });
      List<Future<?>> workers = new ArrayList<>();
      for (int q = 0; q < queues; q++) {
        int queue = q;
        workers.add(
            pool.submit(
                () -> {
                  worker(h, queue, bufs[queue], rounds);
                  return null;
                }));
      }
      for (Future<?> w : workers) {
        w.get(60, TimeUnit.SECONDS);
      }
      stop.set(true);
      noise.get(20, TimeUnit.SECONDS);
      pool.shutdown();
      BlkDeviceStats s = d.stats();
      for (int q = 0; q < queues; q++) {
        BlkQueueStatsSnapshot qs = s.queue(q);
        assertThat(qs.requests(BlkRequestType.STAT_OUT)).isEqualTo(8L * rounds);
        assertThat(qs.requests(BlkRequestType.STAT_IN)).isEqualTo(8L * rounds);
        assertThat(qs.totalErrors()).isZero();
        assertThat(qs.inFlight()).isZero();
        assertThat(qs.queueErrors()).containsOnly(0);
      }
      assertThat(s.internalErrors()).isZero();
    }
  }

  /** Writes 8 distinct 4 KiB blocks to this queue's own area, reads them back, compares. */
  private static void worker(BlkHarness h, int q, long buf, int rounds) {
    SplitRingDriver ring = h.rings[q];
    long src = buf;
    long dst = buf + 8 * 4096L;
    long base = q * 1024L; // sector area of this queue
    for (int round = 0; round < rounds; round++) {
      h.fill(src, 8 * 4096, round * 131 + q);
      for (int i = 0; i < 8; i++) {
        h.submit(
            q,
            BlkRequestType.OUT,
            base + 8L * i,
            new long[] {src + 4096L * i},
            new int[] {4096},
            false);
      }
      if (ring.kickNeeded()) {
        h.device.queueNotified(q);
      }
      h.device.queueNotified(q);
      checkOk(h, q, waitUsed(ring, 8));
      for (int i = 0; i < 8; i++) {
        h.submit(
            q,
            BlkRequestType.IN,
            base + 8L * i,
            new long[] {dst + 4096L * i},
            new int[] {4096},
            true);
      }
      h.device.queueNotified(q);
      checkOk(h, q, waitUsed(ring, 8));
      if (!Arrays.equals(h.bytes(src, 8 * 4096), h.bytes(dst, 8 * 4096))) {
        throw new AssertionError("queue " + q + " round " + round + ": data mismatch");
      }
    }
  }

  private static void checkOk(BlkHarness h, int q, int[] heads) {
    for (int head : heads) {
      int st = h.clients[q].status(head);
      if (st != OK) {
        throw new AssertionError("queue " + q + " head " + head + " status " + st);
      }
    }
  }
}
