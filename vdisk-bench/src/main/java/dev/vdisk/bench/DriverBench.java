package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.queue.HostMemory;
import dev.vdisk.virtio.queue.SplitRing;
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
 * The driver side alone: what the guest driver model costs per request, which the hot-loop
 * benchmark ({@code VirtioBlkBench}) keeps out of its figures by pre-building its chains.
 *
 * <p>A "null device" completes each batch with the least work a device can do (read the avail
 * entry, write the used entry, publish used.idx once), so that the driver can collect and reuse its
 * descriptors; that work is included here and is a few ns per request.
 *
 * <ul>
 *   <li>{@link #buildChains}: per request, what a guest driver does: header written into its slot,
 *       chain built (direct descriptors or an indirect table), avail entry and index published;
 *       then every used entry collected and the descriptors freed.
 *   <li>{@link #resubmit}: the pre-built path: a retained chain made available again, then
 *       collected.
 * </ul>
 *
 * The queue depth (requests per batch) is the method's {@code @OperationsPerInvocation}, so every
 * score is per request.
 */
@State(Scope.Thread)
public class DriverBench extends BenchBase {
  @Param({"READ_4K"})
  public BlkWorkload workload;

  @Param({"DIRECT", "INDIRECT"})
  public String layout;

  private GuestMemory memory;
  private RingFixture fixture;
  private SplitRingDriver ring;
  private long availIdxHost;
  private long availRingHost;
  private long usedIdxHost;
  private long usedRingHost;
  private int queueDepth;
  private boolean retain;
  private int deviceNext;
  private int nextSlot;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    boolean indirect = RingFixture.indirect(layout);
    memory = GuestMemory.allocate(0, RingFixture.SPAN);
    // The method's @OperationsPerInvocation is the batch size; its name says which path.
    queueDepth = params.getOpsPerInvocation();
    retain = params.getBenchmark().contains(".resubmit");
    fixture = new RingFixture(memory, 0, workload, indirect, retain);
    RingFixture.checkDepth(queueDepth, fixture.chains(), layout);
    ring = fixture.ring();
    long availHost = memory.hostAddress(ring.availAddr(), 4);
    availIdxHost = availHost + SplitRing.AVAIL_IDX_OFFSET;
    availRingHost = availHost + SplitRing.AVAIL_RING_OFFSET;
    long usedHost = memory.hostAddress(ring.usedAddr(), 4);
    usedIdxHost = usedHost + SplitRing.USED_IDX_OFFSET;
    usedRingHost = usedHost + SplitRing.USED_RING_OFFSET;
    if (retain) {
      // Build every chain once, complete and collect them: they are then retained for resubmit.
      fixture.submitAll();
      completeAll();
      collect(fixture.chains());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    memory.close();
  }

  /** The null device: returns every available chain as used, publishing used.idx once. */
  private void completeAll() {
    int avail = HostMemory.lvU16(availIdxHost);
    int next = deviceNext;
    int mask = RingFixture.QUEUE_SIZE - 1;
    while (next != avail) {
      int head = HostMemory.u16(availRingHost + (long) SplitRing.AVAIL_ELEM_SIZE * (next & mask));
      long e = usedRingHost + (long) SplitRing.USED_ELEM_SIZE * (next & mask);
      HostMemory.putU32(e + SplitRing.USED_ELEM_ID_OFFSET, head);
      HostMemory.putU32(e + SplitRing.USED_ELEM_LEN_OFFSET, 1);
      next = (next + 1) & 0xffff;
    }
    deviceNext = next;
    HostMemory.soU16(usedIdxHost, next);
  }

  private void collect(int n) {
    for (int i = 0; i < n; i++) {
      if (ring.pollUsed() < 0) {
        throw new IllegalStateException("used entry " + i + " of " + n + " missing");
      }
    }
  }

  /** Per request: build the chain from scratch and publish it; then collect every request. */
  private void buildChains() {
    final int qd = queueDepth;
    final int chains = fixture.chains();
    int c = nextSlot;
    for (int i = 0; i < qd; i++) {
      fixture.submit(c);
      c = c + 1 == chains ? 0 : c + 1;
    }
    nextSlot = c;
    completeAll();
    collect(qd);
  }

  /** Per request: make a retained chain available again; then collect every request. */
  private void resubmit() {
    final int qd = queueDepth;
    final int chains = fixture.chains();
    int c = nextSlot;
    for (int i = 0; i < qd; i++) {
      ring.resubmit(fixture.head(c), c);
      c = c + 1 == chains ? 0 : c + 1;
    }
    nextSlot = c;
    completeAll();
    collect(qd);
  }

  @Benchmark
  @OperationsPerInvocation(1)
  public void buildChainsQd1() {
    buildChains();
  }

  @Benchmark
  @OperationsPerInvocation(32)
  public void buildChainsQd32() {
    buildChains();
  }

  @Benchmark
  @OperationsPerInvocation(256)
  public void buildChainsQd256() {
    buildChains();
  }

  @Benchmark
  @OperationsPerInvocation(1)
  public void resubmitQd1() {
    resubmit();
  }

  @Benchmark
  @OperationsPerInvocation(32)
  public void resubmitQd32() {
    resubmit();
  }

  @Benchmark
  @OperationsPerInvocation(256)
  public void resubmitQd256() {
    resubmit();
  }
}
