package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.QueueSetupException;
import dev.vdisk.virtio.queue.SplitQueue;
import dev.vdisk.virtio.queue.Virtqueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The virtqueue layer alone ({@link SplitQueue}: pop and validate a chain, return it used, decide
 * the interrupt), on the same pre-built rings as {@code VirtioBlkBench} but with no virtio-blk
 * parsing and no backend. The difference between the two is what request parsing and execution
 * cost.
 */
@State(Scope.Thread)
public class SplitQueueBench extends BenchBase {
  static final long FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1)
          | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
          | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC);

  @Param({"READ_4K"})
  public BlkWorkload workload;

  @Param({"DIRECT", "INDIRECT"})
  public String layout;

  private GuestMemory memory;
  private RingFixture fixture;
  private SplitRingDriver ring;
  private SplitQueue queue;
  private DescriptorChain chain;
  private CountingNotifier notifier;
  private int queueDepth;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) throws QueueSetupException {
    queueDepth = params.getOpsPerInvocation();
    memory = GuestMemory.allocate(0, RingFixture.SPAN);
    fixture = new RingFixture(memory, 0, workload, RingFixture.indirect(layout), true);
    RingFixture.checkDepth(queueDepth, fixture.chains(), layout);
    ring = fixture.ring();
    notifier = new CountingNotifier(1);
    queue =
        SplitQueue.activate(
            memory,
            fixture.queueSetup(0),
            FEATURES,
            RingFixture.QUEUE_SIZE,
            SplitQueue.DEFAULT_MAX_CHAIN,
            notifier);
    chain = queue.newChain();
    fixture.submitAll();
    fixture.prefillAvailRing();
    int popped = drain();
    if (popped != fixture.chains()) {
      throw new IllegalStateException(
          "queue popped " + popped + " chains of " + fixture.chains() + " built");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    memory.close();
  }

  /** Pops every available chain and returns it used; returns how many were valid chains. */
  private int drain() {
    final Virtqueue q = queue;
    final DescriptorChain c = chain;
    int n = 0;
    while (true) {
      int r = q.pop(c);
      if (r == Virtqueue.POP_EMPTY) {
        break;
      }
      if (r != Virtqueue.POP_CHAIN) {
        throw new IllegalStateException("pop returned " + r + " (" + c.error() + ")");
      }
      q.addUsed(c.head(), 1);
      n++;
    }
    q.notifyIfNeeded();
    return n;
  }

  private void batch() {
    SplitRingDriver r = ring;
    // The driver has seen everything used so far and wants one interrupt for this batch.
    r.setUsedEvent(r.usedIdx());
    r.setAvailIdx(r.availIdx() + queueDepth);
    drain();
  }

  @Benchmark
  @OperationsPerInvocation(1)
  public void qd1() {
    batch();
  }

  @Benchmark
  @OperationsPerInvocation(32)
  public void qd32() {
    batch();
  }

  @Benchmark
  @OperationsPerInvocation(256)
  public void qd256() {
    batch();
  }
}
