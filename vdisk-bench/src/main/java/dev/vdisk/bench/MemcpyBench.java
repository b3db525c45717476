package dev.vdisk.bench;

import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The physical limit: plain off-heap copies with Chronicle's {@link UnsafeMemory#copyMemory(long,
 * long, long)} between two native stores, with nothing around them.
 *
 * <ul>
 *   <li>{@link #hot}: the same source and destination every time (L1/L2-resident, the best case).
 *   <li>{@link #diskToBuffers} / {@link #buffersToDisk}: exactly the copies the device benchmarks
 *       make for reads and writes ({@link Workload}'s random offsets and buffer pool, 32 per
 *       batch); the report's "fraction of memcpy" and "ns above the copy" divide by these.
 * </ul>
 *
 * <p>{@link #slots} is how many of the {@link Workload#SLOTS} offsets the copies cycle through,
 * because the device rings do not all use them all: a direct ring holds {@link
 * RingFixture#DIRECT_CHAINS} chains (64 offsets, a 4 MiB working set at 64 KiB), an indirect one
 * 256. Comparing a direct ring with a 256-offset baseline once put a 64 KiB read at 133% of memcpy:
 * the baseline was copying from twice the memory.
 */
@State(Scope.Thread)
public class MemcpyBench extends BenchBase {
  static final int BATCH = 32;
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

  @Param({"512", "4096", "65536"})
  public int size;

  /** Offsets cycled through: 64 to match direct rings, 256 to match indirect ones. */
  @Param({"64", "256"})
  public int slots;

  private BytesStore<?, Void> disk;
  private BytesStore<?, Void> buffers;
  private final long[] diskAddresses = new long[Workload.SLOTS];
  private final long[] bufferAddresses = new long[Workload.BUFFERS];
  private long hotSource;
  private long hotTarget;
  private int cursor;

  @Setup
  public void setUp() {
    if (slots < 1 || slots > Workload.SLOTS || Integer.bitCount(slots) != 1) {
      throw new IllegalArgumentException(
          "slots " + slots + " (expected a power of two <= " + Workload.SLOTS + ")");
    }
    disk = BytesStore.nativeStoreWithFixedCapacity(Workload.DISK_BYTES);
    buffers = BytesStore.nativeStoreWithFixedCapacity((long) Workload.BUFFERS * size);
    // Touch every page so no page fault lands in a measurement.
    for (long i = 0; i < Workload.DISK_BYTES; i += 8) {
      disk.writeLong(i, i * 0x9E3779B97F4A7C15L);
    }
    buffers.zeroOut(0, buffers.capacity());
    long[] offsets = Workload.randomOffsets(size);
    long diskBase = disk.addressForRead(0);
    for (int i = 0; i < Workload.SLOTS; i++) {
      diskAddresses[i] = diskBase + offsets[i];
    }
    long bufferBase = buffers.addressForRead(0);
    for (int i = 0; i < Workload.BUFFERS; i++) {
      bufferAddresses[i] = bufferBase + (long) i * size;
    }
    hotSource = diskBase;
    hotTarget = bufferBase;
  }

  @TearDown
  public void tearDown() {
    disk.releaseLast();
    buffers.releaseLast();
  }

  /** One copy between the same two buffers. */
  @Benchmark
  public void hot() {
    MEMORY.copyMemory(hotSource, hotTarget, size);
  }

  /** A batch of 32 "read" copies: random disk offset to the slot's guest buffer. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void diskToBuffers() {
    final int n = size;
    final long[] disks = diskAddresses;
    final long[] bufs = bufferAddresses;
    int c = cursor;
    final int mask = slots - 1;
    for (int i = 0; i < BATCH; i++) {
      int slot = (c + i) & mask;
      MEMORY.copyMemory(disks[slot], bufs[slot & (Workload.BUFFERS - 1)], n);
    }
    cursor = c + BATCH;
  }

  /** A batch of 32 "write" copies: the slot's guest buffer to a random disk offset. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void buffersToDisk() {
    final int n = size;
    final long[] disks = diskAddresses;
    final long[] bufs = bufferAddresses;
    int c = cursor;
    final int mask = slots - 1;
    for (int i = 0; i < BATCH; i++) {
      int slot = (c + i) & mask;
      MEMORY.copyMemory(bufs[slot & (Workload.BUFFERS - 1)], disks[slot], n);
    }
    cursor = c + BATCH;
  }
}
