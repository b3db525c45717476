package dev.vdisk.virtio.blk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.ForwardingBlockDevice;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.driver.SplitRingDriver;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The steady-state request loop (driver model + device + RAM disk) allocates nothing per request.
 * Measured with the JVM's per-thread allocation counter around 100k requests after a warm-up; the
 * bound (< 1 byte per request on average) leaves room for a stray JIT or TLAB artefact but fails on
 * any real per-request object (the smallest is 16 bytes).
 */
class BlkAllocationTest {
  private static final int WARMUP = 60_000;
  private static final int MEASURED = 100_000;
  private static final long MIB = 1 << 20;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  @ParameterizedTest(name = "indirect={0} eventIdx={1} write={2}")
  @CsvSource({
    "false, true, false",
    "false, true, true",
    "true, false, false",
    "true, false, true",
  })
  void syncBackendLoopAllocatesNothing(boolean indirect, boolean eventIdx, boolean write) {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(8 * MIB)).eventIdx(eventIdx).build();
    measure(d, indirect, write, "sync");
  }

  @Test
  void asyncPathAllocatesNothing() {
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(new InlineAsyncDisk(RamDisk.create(8 * MIB))).build();
    measure(d, false, false, "async read");
    VirtioBlkDevice w =
        VirtioBlkDevice.builder(new InlineAsyncDisk(RamDisk.create(8 * MIB))).build();
    measure(w, true, true, "async write");
  }

  private static void measure(VirtioBlkDevice d, boolean indirect, boolean write, String what) {
    try (BlkHarness h = new BlkHarness(d, -1L, indirect, 16 * MIB)) {
      SplitRingDriver ring = h.rings[0];
      BlkRingClient client = h.clients[0];
      long buf = h.alloc(4096, 4096);
      loop(h, ring, client, buf, write, WARMUP);
      long before = THREADS.getCurrentThreadAllocatedBytes();
      long t0 = System.nanoTime();
      loop(h, ring, client, buf, write, MEASURED);
      long ns = System.nanoTime() - t0;
      long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
      System.out.printf(
          "%s indirect=%s write=%s: %.3f bytes/request, %d ns/request (4 KiB, incl. driver)%n",
          what, indirect, write, (double) allocated / MEASURED, ns / MEASURED);
      assertThat((double) allocated / MEASURED).as("bytes allocated per request").isLessThan(1.0);
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.totalErrors()).isZero();
      assertThat(s.completed()).isEqualTo(WARMUP + MEASURED);
    }
  }

  private static void loop(
      BlkHarness h, SplitRingDriver ring, BlkRingClient client, long buf, boolean write, int n) {
    int type = write ? BlkRequestType.OUT : BlkRequestType.IN;
    for (int i = 0; i < n; i++) {
      client.begin();
      client.data(buf, 4096, !write);
      int head = client.submit(type, (i & 1023) * 8L, i);
      if (!ring.kickNeeded()) {
        throw new AssertionError("request " + i + ": device left notifications disabled");
      }
      h.device.queueNotified(0);
      if (ring.pollUsed() != head || client.status(head) != BlkStatus.OK) {
        throw new AssertionError("request " + i + " failed");
      }
    }
  }

  /**
   * An allocation-free {@link AsyncBlockDevice} that completes inline, on the submitting thread.
   */
  static final class InlineAsyncDisk extends ForwardingBlockDevice implements AsyncBlockDevice {
    InlineAsyncDisk(BlockDevice inner) {
      super(inner);
    }

    @Override
    public void submit(
        int op,
        long offset,
        BytesStore<?, ?> store,
        long storeOffset,
        int length,
        long token,
        Completion completion) {
      BlockDeviceException error = null;
      try {
        if (op == OP_READ) {
          inner.read(offset, store, storeOffset, length);
        } else if (op == OP_WRITE) {
          inner.write(offset, store, storeOffset, length);
        } else if (op == OP_FLUSH) {
          inner.flush();
        }
      } catch (BlockDeviceException e) {
        error = e;
      } catch (IOException e) {
        error =
            new BlockDeviceException(BlockDeviceException.Reason.IO_ERROR, "io", offset, length);
      }
      completion.complete(token, error);
    }
  }
}
