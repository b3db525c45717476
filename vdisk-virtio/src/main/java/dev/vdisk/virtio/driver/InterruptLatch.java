package dev.vdisk.virtio.driver;

import dev.vdisk.virtio.pci.InterruptSink;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The driver model's interrupt controller: what a CPU's APIC/PIC would latch. The VMM side (the
 * transport) calls it under its own lock, so it only records — the INTx level, and MSI-X messages
 * as pending vector bits (the driver programs message data = vector number and address {@link
 * #MSI_ADDRESS}) — and wakes the waiting driver thread, which services the interrupt afterwards
 * outside the transport's lock, as a guest's handler runs after the device's write returned.
 */
public final class InterruptLatch implements InterruptSink {
  /** The address the driver model programs into every MSI-X entry (x86 LAPIC window). */
  public static final long MSI_ADDRESS = 0xFEE0_0000L;

  private static final int MAX_VECTORS = 2048;

  private final AtomicLongArray pending = new AtomicLongArray(MAX_VECTORS / 64);
  private final Object wake = new Object();
  private volatile boolean intx;
  private volatile long messages;
  private volatile long strayMessages;
  private volatile long intxAsserts;

  @Override
  public void msi(long address, int data) {
    if (address != MSI_ADDRESS || data < 0 || data >= MAX_VECTORS) {
      strayMessages++;
      return;
    }
    messages++;
    long bit = 1L << data;
    pending.getAndUpdate(data >>> 6, w -> w | bit);
    signal();
  }

  @Override
  public void intx(boolean asserted) {
    intx = asserted;
    if (asserted) {
      intxAsserts++;
      signal();
    }
  }

  private void signal() {
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  /** The INTx line level right now. */
  public boolean intxAsserted() {
    return intx;
  }

  /** Takes (clears and returns) whether {@code vector} had a message pending. */
  public boolean takeVector(int vector) {
    if (vector < 0 || vector >= MAX_VECTORS) {
      return false;
    }
    long bit = 1L << vector;
    return (pending.getAndUpdate(vector >>> 6, w -> w & ~bit) & bit) != 0;
  }

  /** True when any MSI-X message is pending or INTx is asserted. */
  public boolean anyPending() {
    if (intx) {
      return true;
    }
    for (int i = 0; i < pending.length(); i++) {
      if (pending.get(i) != 0) {
        return true;
      }
    }
    return false;
  }

  /** Waits up to {@code nanos} for an interrupt (returns at once if one is pending). */
  public void await(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    synchronized (wake) {
      while (!anyPending()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        TimeUnit.NANOSECONDS.timedWait(wake, left);
      }
    }
  }

  /** MSI-X messages received for the driver. */
  public long messages() {
    return messages;
  }

  /** Messages to an address or data the driver never programmed. */
  public long strayMessages() {
    return strayMessages;
  }

  /** Rising edges of INTx. */
  public long intxAsserts() {
    return intxAsserts;
  }

  /** Forgets everything pending (device reset). */
  public void clear() {
    for (int i = 0; i < pending.length(); i++) {
      pending.set(i, 0);
    }
  }
}
