package dev.vdisk.vhost;

import dev.vdisk.vhost.natives.EventFd;

/**
 * What the front end told vdisk about one virtqueue: size, ring addresses (already translated to
 * guest-physical), the next available index, the kick/call/err eventfds and the enable state.
 * Mutated only by the connection thread; the call and err slots are signalled from any thread.
 */
final class Vring {
  final int index;
  final EventSlot call = new EventSlot();
  final EventSlot err = new EventSlot();

  int num;
  boolean addressed;
  long descGpa;
  long availGpa;
  long usedGpa;

  /** Next available index to consume (SET_VRING_BASE, or what stopping the ring returned). */
  int base;

  /** Non-null from SET_VRING_KICK until GET_VRING_BASE: the ring is "started". */
  EventFd kick;

  boolean enabled;

  /** Part of the set the device was activated with. */
  volatile boolean active;

  Vring(int index) {
    this.index = index;
  }

  boolean started() {
    return kick != null;
  }

  void closeKick() {
    if (kick != null) {
      kick.close();
      kick = null;
    }
  }

  /** Forgets everything (RESET_DEVICE, end of connection) and closes the descriptors. */
  void reset() {
    closeKick();
    call.close();
    err.close();
    num = 0;
    addressed = false;
    descGpa = availGpa = usedGpa = 0;
    base = 0;
    enabled = false;
    active = false;
  }
}
