package dev.vdisk.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.RamDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;

/**
 * RamDisk's shared side without a locked unlock (the hot-path change this module's profile asked
 * for, see {@code AtomicsBench}) against the one thing the lock is for: no copy may touch a chunk
 * while it is freed. Chunk {@code k} only ever holds byte {@code k + 1} or zeroes, while one thread
 * keeps discarding (freeing) pairs of chunks and rewriting them crosswise, so malloc hands each
 * chunk's freed memory to the other: a read that copied from freed memory would see another chunk's
 * byte.
 */
class RamDiskSharedSideTest {
  private static final int CHUNK = RamDisk.DEFAULT_CHUNK_SIZE;
  private static final int CHUNKS = 32;
  private static final int BLOCK = 4096;
  private static final long RUN_NANOS = 1_500_000_000L;

  @Test
  void readsNeverSeeAChunkBeingFreedAndCloseStopsEveryReader() throws Exception {
    RamDisk disk = RamDisk.create((long) CHUNKS * CHUNK);
    for (int k = 0; k < CHUNKS; k++) {
      writeChunk(disk, k);
    }
    AtomicBoolean stopReaders = new AtomicBoolean();
    AtomicBoolean stopChurn = new AtomicBoolean();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicLong reads = new AtomicLong();
    AtomicLong closedErrors = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int seed = t;
      threads.add(
          new Thread(
              () -> readLoop(disk, seed, stopReaders, failures, reads, closedErrors),
              "reader-" + t));
    }
    Thread churn =
        new Thread(
            () -> {
              int k = 0;
              while (!stopChurn.get()) {
                int j = (k + 1) % CHUNKS;
                try {
                  // Free k then j, and allocate k first: malloc's free lists are LIFO, so chunk k
                  // gets j's old memory and j gets k's. A copy still running from a freed chunk
                  // then reads the other chunk's byte.
                  disk.discard((long) k * CHUNK, CHUNK);
                  disk.discard((long) j * CHUNK, CHUNK);
                  writeChunk(disk, k);
                  writeChunk(disk, j);
                } catch (IOException e) {
                  failures.add("churn: " + e);
                  return;
                }
                k = (k + 7) % CHUNKS;
              }
            },
            "churn");
    threads.forEach(Thread::start);
    churn.start();
    long end = System.nanoTime() + RUN_NANOS;
    while (System.nanoTime() - end < 0 && failures.isEmpty()) {
      Thread.sleep(20);
    }
    stopChurn.set(true);
    churn.join(10_000);
    // Close while the readers still run: they must get errors, never a copy from freed memory.
    long closeAt = reads.get() + 100;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (reads.get() < closeAt && failures.isEmpty() && System.nanoTime() - deadline < 0) {
      Thread.sleep(1);
    }
    disk.close();
    long errorsBefore = closedErrors.get();
    while (closedErrors.get() < errorsBefore + 10 && System.nanoTime() - deadline < 0) {
      Thread.sleep(1);
    }
    stopReaders.set(true);
    for (Thread t : threads) {
      t.join(10_000);
      assertThat(t.isAlive()).as("%s still running", t.getName()).isFalse();
    }
    assertThat(failures).isEmpty();
    assertThat(reads.get()).as("reads done").isGreaterThan(1000);
    assertThat(closedErrors.get()).as("reads refused after close").isPositive();
    assertThat(disk.allocatedBytes()).isZero();
  }

  private static void writeChunk(RamDisk disk, int k) throws IOException {
    BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(CHUNK);
    try {
      for (int i = 0; i < CHUNK; i++) {
        b.writeByte(i, (byte) (k + 1));
      }
      disk.write((long) k * CHUNK, b, 0, CHUNK);
    } finally {
      b.releaseLast();
    }
  }

  private static void readLoop(
      RamDisk disk,
      int seed,
      AtomicBoolean stop,
      ConcurrentLinkedQueue<String> failures,
      AtomicLong reads,
      AtomicLong closedErrors) {
    BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(BLOCK);
    try {
      long x = 0x9E3779B97F4A7C15L * (seed + 1);
      while (!stop.get()) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        long block = Math.floorMod(x, (long) CHUNKS * CHUNK / BLOCK);
        int k = (int) (block * BLOCK / CHUNK);
        try {
          disk.read(block * BLOCK, b, 0, BLOCK);
        } catch (BlockDeviceException e) {
          closedErrors.incrementAndGet();
          continue;
        }
        reads.incrementAndGet();
        for (int i = 0; i < BLOCK; i++) {
          byte v = b.readByte(i);
          if (v != 0 && v != (byte) (k + 1)) {
            failures.add(
                "block "
                    + block
                    + " of chunk "
                    + k
                    + ": byte "
                    + i
                    + " is "
                    + v
                    + " (expected 0 or "
                    + (k + 1)
                    + ")");
            return;
          }
        }
      }
    } finally {
      b.releaseLast();
    }
  }
}
