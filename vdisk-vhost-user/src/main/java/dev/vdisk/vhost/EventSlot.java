package dev.vdisk.vhost;

import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.NativeException;
import java.util.concurrent.locks.StampedLock;

/**
 * A replaceable eventfd the back end signals (a vring's call or err fd). Signals may come from any
 * thread (request completions) while the connection thread swaps or closes the descriptor; the lock
 * makes sure a signal never lands on a descriptor number that was closed and perhaps reused by an
 * unrelated open in between. The read side is a CAS and allocates nothing.
 */
final class EventSlot {
  private final StampedLock lock = new StampedLock();
  private EventFd fd;

  /** Installs {@code next} (may be null: no notifications) and closes the previous one. */
  void replace(EventFd next) {
    long stamp = lock.writeLock();
    EventFd old;
    try {
      old = fd;
      fd = next;
    } finally {
      lock.unlockWrite(stamp);
    }
    if (old != null) {
      old.close();
    }
  }

  boolean isSet() {
    long stamp = lock.readLock();
    try {
      return fd != null;
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /** Signals the eventfd if one is installed; returns whether it did. */
  boolean signal() throws NativeException {
    long stamp = lock.readLock();
    try {
      EventFd f = fd;
      if (f == null) {
        return false;
      }
      f.signal();
      return true;
    } finally {
      lock.unlockRead(stamp);
    }
  }

  void close() {
    replace(null);
  }
}
