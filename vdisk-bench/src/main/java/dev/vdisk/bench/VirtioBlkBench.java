package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.blk.BlkFeatures;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.driver.SplitRingDriver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import net.openhft.chronicle.bytes.BytesStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The hot loop end to end, in process: the driver model's split ring (size 256, chains of header +
 * data + status, direct or indirect) → {@link VirtioBlkDevice#queueNotified} pops, validates and
 * parses each chain, executes it against a {@link RamDisk}, writes the status byte and the used
 * entry and decides on the interrupt (counted by a {@link CountingNotifier}).
 *
 * <h2>What is measured, and what is not</h2>
 *
 * The chains are built once through the driver model ({@link RingFixture}) and kept; per batch the
 * driver only moves avail.idx by the queue depth (and used_event to ask for one interrupt per
 * batch), then kicks. So the score is the device's cost plus two ring-index stores per batch; the
 * driver's own cost of building chains is measured apart in {@link DriverBench}. The queue depth is
 * the method's {@code @OperationsPerInvocation} (requests per kick), so every score is ns per
 * request; {@code twoQueues*} run two threads, each kicking its own queue of one device.
 *
 * <p>The RAM disk is fully written before measuring, so reads copy real data rather than zero-fill
 * holes; the footprint (8 MiB disk, 32 buffers per queue) is L3-resident by design, see {@link
 * Workload}. Setup runs one full cycle of every chain and fails unless every request completed with
 * status OK and exactly one interrupt was raised per batch.
 */
public class VirtioBlkBench extends BenchBase {

  /** The device, its guest memory and one ring per queue (one queue per benchmark thread). */
  @State(Scope.Benchmark)
  public static class Device {
    @Param({"READ_4K"})
    public BlkWorkload workload;

    @Param({"DIRECT", "INDIRECT"})
    public String layout;

    int queueDepth;
    int queues;
    RamDisk disk;
    GuestMemory memory;
    VirtioBlkDevice device;
    RingFixture[] fixtures;
    CountingNotifier notifier;
    final AtomicInteger nextQueue = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws IOException {
      queueDepth = params.getOpsPerInvocation();
      queues = params.getThreads();
      boolean indirect = RingFixture.indirect(layout);
      disk = RamDisk.create(Workload.DISK_BYTES);
      fill(disk);
      device =
          VirtioBlkDevice.builder(disk)
              .queues(queues)
              .queueSize(RingFixture.QUEUE_SIZE)
              .discard(true)
              .build();
      memory = GuestMemory.allocate(0, queues * RingFixture.SPAN);
      fixtures = new RingFixture[queues];
      List<QueueSetup> setups = new ArrayList<>();
      for (int q = 0; q < queues; q++) {
        fixtures[q] = new RingFixture(memory, q, workload, indirect, true);
        RingFixture.checkDepth(queueDepth, fixtures[q].chains(), layout);
        setups.add(fixtures[q].queueSetup(q));
      }
      long features = device.deviceFeatures() & wanted(queues);
      String refused = device.validateFeatures(features);
      if (refused != null) {
        throw new IllegalStateException("device refused features: " + refused);
      }
      notifier = new CountingNotifier(queues);
      device.activate(features, memory, setups, notifier);
      for (int q = 0; q < queues; q++) {
        warmUpAndCheck(q);
      }
    }

    /** Features a Linux guest would accept here: rings, flush, discard, multiqueue. */
    private static long wanted(int queues) {
      long f =
          VirtioFeatures.bit(VirtioFeatures.VERSION_1)
              | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
              | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
              | VirtioFeatures.bit(BlkFeatures.SEG_MAX)
              | VirtioFeatures.bit(BlkFeatures.BLK_SIZE)
              | VirtioFeatures.bit(BlkFeatures.FLUSH)
              | VirtioFeatures.bit(BlkFeatures.CONFIG_WCE)
              | VirtioFeatures.bit(BlkFeatures.DISCARD)
              | VirtioFeatures.bit(BlkFeatures.WRITE_ZEROES);
      return queues > 1 ? f | VirtioFeatures.bit(BlkFeatures.MQ) : f;
    }

    /** Writes every byte of the disk, so every chunk exists and reads really copy. */
    private static void fill(RamDisk disk) throws IOException {
      int piece = 64 * 1024;
      BytesStore<?, Void> pattern = BytesStore.nativeStoreWithFixedCapacity(piece);
      try {
        for (int i = 0; i < piece; i += 8) {
          pattern.writeLong(i, 0x0123_4567_89ab_cdefL * (i + 1));
        }
        for (long off = 0; off < disk.size(); off += piece) {
          disk.write(off, pattern, 0, piece);
        }
      } finally {
        pattern.releaseLast();
      }
    }

    /**
     * Builds queue {@code q}'s chains, lets the device complete them, then runs a whole cycle of
     * steady-state batches and checks each request's status and the interrupt count.
     */
    private void warmUpAndCheck(int q) {
      RingFixture f = fixtures[q];
      SplitRingDriver ring = f.ring();
      f.submitAll();
      device.queueNotified(q);
      expectAllUsed(q);
      f.checkStatuses();
      f.prefillAvailRing();
      f.clearStatuses();
      long before = notifier.interrupts(q);
      int batches = Math.max(1, f.chains() / queueDepth);
      for (int b = 0; b < batches; b++) {
        batch(q, ring);
      }
      if (batches * queueDepth >= f.chains()) {
        f.checkStatuses();
      }
      long raised = notifier.interrupts(q) - before;
      if (raised != batches) {
        throw new IllegalStateException(
            "queue "
                + q
                + ": "
                + raised
                + " interrupts for "
                + batches
                + " batches (expected 1 each)");
      }
    }

    private void expectAllUsed(int q) {
      SplitRingDriver ring = fixtures[q].ring();
      if (ring.usedIdx() != ring.availIdx()) {
        throw new IllegalStateException(
            "queue "
                + q
                + ": device left work: used.idx "
                + ring.usedIdx()
                + ", avail.idx "
                + ring.availIdx()
                + "; device stats: "
                + device.stats());
      }
    }

    /**
     * One batch: the driver publishes {@code queueDepth} more pre-built chains and asks for an
     * interrupt once they are used, then kicks; the device processes all of them inline.
     */
    void batch(int q, SplitRingDriver ring) {
      ring.setUsedEvent(ring.usedIdx());
      int avail = (ring.availIdx() + queueDepth) & 0xffff;
      ring.setAvailIdx(avail);
      device.queueNotified(q);
      if (ring.usedIdx() != avail) {
        expectAllUsed(q);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      device.reset();
      memory.close();
      disk.close();
    }
  }

  /** The queue this benchmark thread drives. */
  @State(Scope.Thread)
  public static class Queue {
    int index;
    SplitRingDriver ring;

    @Setup(Level.Trial)
    public void setUp(Device d) {
      index = d.nextQueue.getAndIncrement();
      if (index >= d.queues) {
        throw new IllegalStateException("thread " + index + " but only " + d.queues + " queues");
      }
      ring = d.fixtures[index].ring();
    }
  }

  @Benchmark
  @OperationsPerInvocation(1)
  public void qd1(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }

  @Benchmark
  @OperationsPerInvocation(32)
  public void qd32(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }

  @Benchmark
  @OperationsPerInvocation(256)
  public void qd256(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }

  @Benchmark
  @Threads(2)
  @OperationsPerInvocation(1)
  public void twoQueuesQd1(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }

  @Benchmark
  @Threads(2)
  @OperationsPerInvocation(32)
  public void twoQueuesQd32(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }

  @Benchmark
  @Threads(2)
  @OperationsPerInvocation(256)
  public void twoQueuesQd256(Device d, Queue q) {
    d.batch(q.index, q.ring);
  }
}
