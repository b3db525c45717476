package dev.vdisk.remote.nbd;

import dev.vdisk.api.AsyncBlockDevice.Completion;
import dev.vdisk.api.BlockDeviceException;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * One in-flight request of {@link NbdClient}. Slots are preallocated and reused, so a request costs
 * no allocation; the handle on the wire is {@code generation << 32 | index}, which makes a late or
 * forged reply for a slot's previous use detectable. Fields are guarded by the client's lock except
 * while the reader thread owns the slot ({@link #receiving}).
 */
final class NbdSlot {
  static final int FREE = 0;

  /** Accepted but not on the wire (no connection yet, or waiting to be resent after a drop). */
  static final int WAITING = 1;

  static final int SENT = 2;

  /** Timed out and already completed; the late reply is read and dropped. */
  static final int ABANDONED = 3;

  final int index;
  int generation;
  int state = FREE;
  boolean receiving;

  int command;
  int commandFlags;
  long offset;
  int length;
  BytesStore<?, ?> store;
  long storeOffset;
  long token;
  Completion completion;
  long deadline;
  int attempts;

  /** Bytes of a READ covered by data/hole chunks so far. */
  long covered;

  BlockDeviceException error;

  /** BLOCK_STATUS answer: run length, negative for a run that reads as zeroes; 0 = none yet. */
  long extent;

  NbdSlot(int index) {
    this.index = index;
  }

  long handle() {
    return ((long) generation << 32) | index;
  }

  boolean isReadLike() {
    return command == NbdProtocol.CMD_READ || command == NbdProtocol.CMD_BLOCK_STATUS;
  }
}
