package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.NO_VECTOR;

import java.util.Arrays;

/**
 * Turns virtio events (used buffers on a queue, configuration change) into what the function
 * signals: the ISR byte, the INTx level and MSI-X messages, with the MSI-X table, pending bits and
 * masks (PCI 3.0 §6.8.2, virtio 1.2 §4.1.5).
 *
 * <ul>
 *   <li>Every event sets its ISR bit (bit 0 queue, bit 1 config), in both interrupt modes, as QEMU
 *       does; a 1-byte read of the ISR returns and clears it.
 *   <li>MSI-X disabled: INTx is asserted while the ISR is non-zero, unless Command.INTx-disable
 *       gates it. Status.Interrupt reflects the ungated state.
 *   <li>MSI-X enabled: INTx stays de-asserted; the event's vector is sent unless it is NO_VECTOR or
 *       beyond the table (spec: no interrupt then); if the vector or the function is masked the
 *       pending bit is set instead and the message goes out on unmask.
 *   <li>Bus master off: no MSI-X message is sent (it would be a memory write); counted.
 * </ul>
 *
 * <p>All state is guarded by one lock, which {@link InterruptSink} calls are made under so that
 * level changes reach the VMM in order. Device threads enter here only; the register lock of the
 * transport may be held when entering (lock order: registers, then interrupts).
 */
final class InterruptRouter {
  static final int ISR_QUEUE = 1;
  static final int ISR_CONFIG = 2;

  private final Object lock = new Object();
  private final InterruptSink sink;
  private final PciCounters counters;
  private final int vectors;

  /** MSI-X table: 4 dwords per entry (address low, address high, data, vector control). */
  private final int[] table;

  private final long[] pba;
  private final int[] queueVector;
  private int configVector = NO_VECTOR;
  private boolean msixEnabled;
  private boolean functionMasked;
  private boolean intxDisabled;
  private boolean busMaster;
  private int isr;
  private boolean intxLine;

  /**
   * Driver session: bumped by every reset, so that a device thread still holding the notifier of an
   * earlier session cannot raise an interrupt (or NEEDS_RESET) into the new one.
   */
  private int epoch;

  InterruptRouter(InterruptSink sink, PciCounters counters, int vectors, int queues) {
    this.sink = sink;
    this.counters = counters;
    this.vectors = vectors;
    this.table = new int[4 * vectors];
    this.pba = new long[(vectors + 63) / 64];
    this.queueVector = new int[queues];
    resetTable();
    Arrays.fill(queueVector, NO_VECTOR);
  }

  private void resetTable() {
    Arrays.fill(table, 0);
    for (int v = 0; v < vectors; v++) {
      table[4 * v + 3] = VirtioPciCap.MSIX_VECTOR_MASKED; // entries start masked
    }
    Arrays.fill(pba, 0);
  }

  // ---------------------------------------------------------------- events

  /** Starts a new session (after a reset) and returns its token. */
  int newEpoch() {
    synchronized (lock) {
      return ++epoch;
    }
  }

  /** The current session token. */
  int epoch() {
    synchronized (lock) {
      return epoch;
    }
  }

  /**
   * Runs {@code action} under the interrupt lock if {@code sessionEpoch} is still current, so that
   * it cannot interleave with a reset. Returns false when the session is over.
   */
  boolean runIfCurrent(int sessionEpoch, Runnable action) {
    synchronized (lock) {
      if (sessionEpoch != epoch) {
        return false;
      }
      action.run();
      return true;
    }
  }

  /** Used buffers on {@code queue} (index already checked) for session {@code sessionEpoch}. */
  void queueEvent(int sessionEpoch, int queue) {
    synchronized (lock) {
      if (sessionEpoch != epoch) {
        return;
      }
      counters.event(PciCounter.QUEUE_INTERRUPTS);
      raise(ISR_QUEUE, queueVector[queue]);
    }
  }

  /** The device configuration changed, or the device needs reset. Call with the lock held. */
  void configEventLocked() {
    counters.event(PciCounter.CONFIG_INTERRUPTS);
    raise(ISR_CONFIG, configVector);
  }

  /** A configuration event for session {@code sessionEpoch}. */
  void configEvent(int sessionEpoch) {
    synchronized (lock) {
      if (sessionEpoch == epoch) {
        configEventLocked();
      }
    }
  }

  private void raise(int isrBit, int vector) {
    isr |= isrBit;
    if (msixEnabled) {
      send(vector);
    } else {
      updateIntx();
    }
  }

  private void send(int vector) {
    if (vector == NO_VECTOR || vector >= vectors) {
      counters.event(PciCounter.INTERRUPT_NO_VECTOR);
      return;
    }
    if (functionMasked || (table[4 * vector + 3] & VirtioPciCap.MSIX_VECTOR_MASKED) != 0) {
      pba[vector >>> 6] |= 1L << vector;
      counters.event(PciCounter.INTERRUPT_MASKED);
      return;
    }
    if (!busMaster) {
      counters.event(PciCounter.INTERRUPT_BUS_MASTER_OFF);
      return;
    }
    counters.event(PciCounter.MSI_SENT);
    sink.msi(messageAddress(vector), table[4 * vector + 2]);
  }

  private long messageAddress(int vector) {
    return (table[4 * vector] & 0xFFFF_FFFFL) | ((long) table[4 * vector + 1] << 32);
  }

  /** Sends every pending vector that is no longer masked. */
  private void flushPending() {
    if (!msixEnabled || functionMasked || !busMaster) {
      return;
    }
    for (int w = 0; w < pba.length; w++) {
      long bits = pba[w];
      while (bits != 0) {
        int v = w * 64 + Long.numberOfTrailingZeros(bits);
        bits &= bits - 1;
        if ((table[4 * v + 3] & VirtioPciCap.MSIX_VECTOR_MASKED) == 0) {
          pba[w] &= ~(1L << v);
          counters.event(PciCounter.MSI_SENT_FROM_PBA);
          sink.msi(messageAddress(v), table[4 * v + 2]);
        }
      }
    }
  }

  private void updateIntx() {
    boolean level = !msixEnabled && !intxDisabled && isr != 0;
    if (level != intxLine) {
      intxLine = level;
      if (level) {
        counters.event(PciCounter.INTX_ASSERTED);
      }
      sink.intx(level);
    }
  }

  // ---------------------------------------------------------------- ISR

  /** The driver's 1-byte ISR read: returns the bits and clears them (de-asserting INTx). */
  int readAndClearIsr() {
    synchronized (lock) {
      int v = isr;
      isr = 0;
      updateIntx();
      return v;
    }
  }

  /** The ISR without side effects. */
  int peekIsr() {
    synchronized (lock) {
      return isr;
    }
  }

  /** Status.Interrupt: INTx would be asserted if not gated by INTx-disable. */
  boolean interruptStatus() {
    synchronized (lock) {
      return !msixEnabled && isr != 0;
    }
  }

  // ---------------------------------------------------------------- PCI state

  void commandChanged(boolean intxDisable, boolean busMasterEnable) {
    synchronized (lock) {
      intxDisabled = intxDisable;
      busMaster = busMasterEnable;
      updateIntx();
      flushPending();
    }
  }

  void messageControlChanged(int messageControl) {
    synchronized (lock) {
      msixEnabled = (messageControl & VirtioPciCap.MSIX_ENABLE) != 0;
      functionMasked = (messageControl & VirtioPciCap.MSIX_FUNCTION_MASK) != 0;
      updateIntx();
      flushPending();
    }
  }

  boolean msixEnabled() {
    synchronized (lock) {
      return msixEnabled;
    }
  }

  // ---------------------------------------------------------------- vectors

  /** Stores a vector mapping; returns what was stored (NO_VECTOR when out of range). */
  int setConfigVector(int vector) {
    synchronized (lock) {
      configVector = checkVector(vector);
      return configVector;
    }
  }

  int setQueueVector(int queue, int vector) {
    synchronized (lock) {
      queueVector[queue] = checkVector(vector);
      return queueVector[queue];
    }
  }

  private int checkVector(int vector) {
    if (vector != NO_VECTOR && vector >= vectors) {
      counters.guestError(
          PciCounter.MSIX_VECTOR_OUT_OF_RANGE,
          "mapped MSI-X vector %d (table has %d): stored NO_VECTOR",
          vector,
          vectors);
      return NO_VECTOR;
    }
    return vector;
  }

  int configVector() {
    synchronized (lock) {
      return configVector;
    }
  }

  int queueVector(int queue) {
    synchronized (lock) {
      return queueVector[queue];
    }
  }

  int[] queueVectors() {
    synchronized (lock) {
      return queueVector.clone();
    }
  }

  // ---------------------------------------------------------------- table and PBA

  /** Reads {@code size} bytes of the table at byte {@code offset} (in range), no side effects. */
  long readTable(int offset, int size) {
    synchronized (lock) {
      long v = 0;
      for (int i = 0; i < size; i++) {
        int b = offset + i;
        v |= (long) ((table[b >>> 2] >>> (8 * (b & 3))) & 0xFF) << (8 * i);
      }
      return v;
    }
  }

  /** An aligned 4- or 8-byte table write (the caller checked alignment and width). */
  void writeTable(int offset, int size, long value) {
    synchronized (lock) {
      writeTableDword(offset >>> 2, (int) value);
      if (size == 8) {
        writeTableDword((offset >>> 2) + 1, (int) (value >>> 32));
      }
      flushPending();
    }
  }

  private void writeTableDword(int dword, int value) {
    if ((dword & 3) == 3) {
      // Vector control: only the mask bit is defined; the rest is reserved (reads 0).
      table[dword] = value & VirtioPciCap.MSIX_VECTOR_MASKED;
    } else {
      table[dword] = value;
    }
  }

  long readPba(int offset, int size) {
    synchronized (lock) {
      long v = 0;
      for (int i = 0; i < size; i++) {
        int b = offset + i;
        v |= ((pba[b >>> 3] >>> (8 * (b & 7))) & 0xFF) << (8 * i);
      }
      return v;
    }
  }

  boolean vectorMasked(int vector) {
    synchronized (lock) {
      return (table[4 * vector + 3] & VirtioPciCap.MSIX_VECTOR_MASKED) != 0;
    }
  }

  // ---------------------------------------------------------------- resets

  /** Virtio reset: ISR cleared, INTx de-asserted, every event unmapped (NO_VECTOR). */
  void virtioReset() {
    synchronized (lock) {
      isr = 0;
      configVector = NO_VECTOR;
      Arrays.fill(queueVector, NO_VECTOR);
      updateIntx();
    }
  }

  /** Function reset: additionally the MSI-X table, pending bits, enable and masks. */
  void functionReset() {
    synchronized (lock) {
      resetTable();
      msixEnabled = false;
      functionMasked = false;
      intxDisabled = false;
      busMaster = false;
      isr = 0;
      configVector = NO_VECTOR;
      Arrays.fill(queueVector, NO_VECTOR);
      updateIntx();
    }
  }
}
