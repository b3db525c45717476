package dev.vdisk.virtio.queue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Statistics counters for the hot path: plain single-writer increments published with opaque
 * stores, so any thread may read them at any time without locks, atomics on the writer side or
 * allocation. Each counter must have one writer at a time (the thread that owns the queue, or the
 * holder of its completion lock); readers may see a value a few increments old, never a torn one.
 */
public final class CounterArray {
  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] values;

  public CounterArray(int size) {
    values = new long[size];
  }

  public void increment(int index) {
    LONGS.setOpaque(values, index, (long) LONGS.getOpaque(values, index) + 1L);
  }

  public void add(int index, long delta) {
    LONGS.setOpaque(values, index, (long) LONGS.getOpaque(values, index) + delta);
  }

  /** Sets a gauge (last index seen and the like). */
  public void set(int index, long value) {
    LONGS.setOpaque(values, index, value);
  }

  public long get(int index) {
    return (long) LONGS.getOpaque(values, index);
  }

  public int size() {
    return values.length;
  }

  /** A copy of every counter (allocates; for snapshots, not the hot path). */
  public long[] snapshot() {
    long[] copy = new long[values.length];
    for (int i = 0; i < copy.length; i++) {
      copy[i] = get(i);
    }
    return copy;
  }

  /** Zeroes every counter; only while no writer runs (device reset). */
  public void clear() {
    for (int i = 0; i < values.length; i++) {
      set(i, 0);
    }
  }
}
