package dev.vdisk.vhost.natives;

import com.sun.jna.Memory;

/**
 * A reusable {@code poll(2)} array in native memory, owned by one thread. Fill slots with {@link
 * #set}, call {@link #poll}, then ask each slot what happened. Allocates nothing per poll.
 */
public final class PollSet {
  public static final short POLLIN = 0x1;
  public static final short POLLOUT = 0x4;
  public static final short POLLERR = 0x8;
  public static final short POLLHUP = 0x10;
  public static final short POLLNVAL = 0x20;

  // struct pollfd { int fd; short events; short revents; }
  private static final int SIZE = 8;
  private static final int FD_OFFSET = 0;
  private static final int EVENTS_OFFSET = 4;
  private static final int REVENTS_OFFSET = 6;

  private final Memory memory;
  private final int capacity;

  public PollSet(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("poll set capacity " + capacity + " (expected > 0)");
    }
    this.capacity = capacity;
    this.memory = new Memory((long) capacity * SIZE);
    memory.clear();
  }

  /** Watches {@code fd} in slot {@code index} for {@code events} (e.g. {@link #POLLIN}). */
  public void set(int index, int fd, short events) {
    long at = (long) checkIndex(index) * SIZE;
    memory.setInt(at + FD_OFFSET, fd);
    memory.setShort(at + EVENTS_OFFSET, events);
    memory.setShort(at + REVENTS_OFFSET, (short) 0);
  }

  /**
   * Waits until a watched slot among the first {@code count} is ready or {@code timeoutMillis} pass
   * (-1: forever). Returns the number of ready slots, 0 on timeout or a signal interruption.
   */
  public int poll(int count, int timeoutMillis) throws NativeException {
    if (count <= 0 || count > capacity) {
      throw new IllegalArgumentException("poll count " + count + " (expected 1.." + capacity + ")");
    }
    int n = LibC.poll(memory, count, timeoutMillis);
    if (n < 0) {
      int errno = LibC.errno();
      if (errno == Errno.EINTR) {
        return 0;
      }
      throw new NativeException("poll(" + count + " fds)", errno);
    }
    return n;
  }

  /** Events the kernel reported for slot {@code index} in the last poll. */
  public int revents(int index) {
    return memory.getShort((long) checkIndex(index) * SIZE + REVENTS_OFFSET) & 0xffff;
  }

  /** The slot has data to read (or the peer hung up, which a read then reports). */
  public boolean readable(int index) {
    return (revents(index) & (POLLIN | POLLHUP | POLLERR)) != 0;
  }

  /** The descriptor is broken: error, hang-up without data, or not open. */
  public boolean failed(int index) {
    return (revents(index) & (POLLERR | POLLNVAL)) != 0;
  }

  private int checkIndex(int index) {
    if (index < 0 || index >= capacity) {
      throw new IndexOutOfBoundsException("poll slot " + index + " of " + capacity);
    }
    return index;
  }
}
