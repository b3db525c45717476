package dev.vdisk.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.StampedLock;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Where the hot loop's time goes that no single component shows: what an atomic read-modify-write
 * costs on this machine on its own, and right after a 4 KiB copy (a locked instruction waits for
 * the copy's stores to drain from the store buffer). The device path made four per 4 KiB read:
 * {@code SplitQueue}'s in-flight counter (pop and addUsed) and {@code RamDisk}'s {@link
 * StampedLock} (readLock and unlockRead). These figures are why SplitQueue's counters became
 * single-writer and RamDisk's shared side leaves with a release store ({@code ReaderSlots}).
 */
@State(Scope.Thread)
public class AtomicsBench extends BenchBase {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final VarHandle COUNT;

  static {
    try {
      COUNT = MethodHandles.lookup().findVarHandle(AtomicsBench.class, "count", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final int COPY = 4096;

  @SuppressWarnings("unused") // through COUNT
  private volatile int count;

  private int plain;
  private final StampedLock lock = new StampedLock();
  private BytesStore<?, Void> source;
  private BytesStore<?, Void> target;
  private long from;
  private long to;

  @Setup
  public void setUp() {
    source = BytesStore.nativeStoreWithFixedCapacity(COPY);
    target = BytesStore.nativeStoreWithFixedCapacity(COPY);
    source.zeroOut(0, COPY);
    target.zeroOut(0, COPY);
    from = source.addressForRead(0);
    to = target.addressForWrite(0);
  }

  @TearDown
  public void tearDown() {
    source.releaseLast();
    target.releaseLast();
  }

  @Benchmark
  public int plainIncrement() {
    return ++plain;
  }

  @Benchmark
  public int atomicIncrement() {
    return (int) COUNT.getAndAdd(this, 1);
  }

  @Benchmark
  public void stampedReadLockUnlock() {
    lock.unlockRead(lock.readLock());
  }

  @Benchmark
  public void copy4k() {
    MEMORY.copyMemory(from, to, COPY);
  }

  @Benchmark
  public int copy4kThenAtomicIncrement() {
    MEMORY.copyMemory(from, to, COPY);
    return (int) COUNT.getAndAdd(this, 1);
  }

  /** What RamDisk.read did around its copy before ReaderSlots: a CAS on each side. */
  @Benchmark
  public void copy4kUnderStampedReadLock() {
    long stamp = lock.readLock();
    try {
      MEMORY.copyMemory(from, to, COPY);
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /**
   * What RamDisk.read does around its copy now (ReaderSlots): a CAS before the copy, when the store
   * buffer is nearly empty, and a release store (a plain move on x86) after it.
   */
  @Benchmark
  public void copy4kBetweenCasAndReleaseStore() {
    COUNT.compareAndSet(this, 0, 1);
    MEMORY.copyMemory(from, to, COPY);
    COUNT.setRelease(this, 0);
  }
}
