package dev.vdisk.backend;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The shared side of {@link RamDisk}'s lock for reads and writes, leaving without a locked
 * instruction.
 *
 * <p>Why: a {@link java.util.concurrent.locks.StampedLock} read unlock is a CAS, and a locked
 * instruction right after a 4 KiB copy waits until every store of the copy has drained from the
 * store buffer: about 20 ns per 4 KiB request on the benchmark machine (vdisk-bench {@code
 * AtomicsBench}: copy 55 ns, copy then CAS 77 ns), a third of the device's whole budget above the
 * copy. Here a reader claims a per-thread slot with a CAS <em>before</em> its copy (when the store
 * buffer holds little) and leaves with a release store, which costs a plain move on x86.
 *
 * <p>Protocol (a Dekker handshake over volatile accesses, so sequential consistency decides every
 * race): a reader CASes its slot from 0 to 1, then reads {@link #writer}; a writer, already holding
 * the lock's exclusive side, sets {@link #writer} and then waits until every slot reads 0. Either
 * the reader's CAS comes first in the synchronization order, and the writer waits for its release,
 * or the writer's store does, and the reader sees it, backs out and takes the lock's shared side
 * (which waits for the writer). A reader whose probed slots are all busy (more threads than slots,
 * or hash collisions) takes the lock's shared side too: slower, never wrong.
 */
final class ReaderSlots {
  /** Slots, a power of two: enough for every vCPU and I/O thread of a typical VMM. */
  private static final int SLOTS = 64;

  /** Longs per slot: 128 bytes, so two threads' slots never share a cache line (or its pair). */
  private static final int STRIDE = 16;

  /** Slots a reader tries before falling back to the lock. */
  private static final int PROBES = 4;

  /** Spins of a waiting writer before it starts yielding the CPU. */
  private static final int SPINS = 100;

  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] slots = new long[SLOTS * STRIDE];
  private volatile boolean writer;

  /**
   * Enters the shared side. Returns the slot to pass to {@link #exit}, or -1 when the caller must
   * take the lock's shared side instead (a writer is active, or every probed slot is busy).
   */
  int enter() {
    int h = System.identityHashCode(Thread.currentThread());
    h ^= h >>> 16;
    for (int p = 0; p < PROBES; p++) {
      int i = ((h + p) & (SLOTS - 1)) * STRIDE;
      if ((long) SLOT.getOpaque(slots, i) == 0L && SLOT.compareAndSet(slots, i, 0L, 1L)) {
        if (!writer) {
          return i;
        }
        SLOT.setRelease(slots, i, 0L);
        return -1;
      }
    }
    return -1;
  }

  /** Leaves the shared side entered with {@link #enter}: a release store, no locked instruction. */
  void exit(int slot) {
    SLOT.setRelease(slots, slot, 0L);
  }

  /**
   * Writer side, called with the lock's exclusive side held: stops new fast readers and waits for
   * the ones inside (each is in one bounded copy) to leave.
   */
  void block() {
    writer = true;
    for (int i = 0; i < slots.length; i += STRIDE) {
      int spins = 0;
      while ((long) SLOT.getVolatile(slots, i) != 0L) {
        if (++spins < SPINS) {
          Thread.onSpinWait();
        } else {
          Thread.yield();
        }
      }
    }
  }

  /** Lets fast readers in again; called before the lock's exclusive side is released. */
  void unblock() {
    writer = false;
  }
}
