package dev.vdisk.vhost.natives;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.Closeable;

/**
 * A Linux eventfd: a 64-bit counter that one side adds to ({@link #signal}) and the other drains
 * ({@link #drain}), readable while non-zero. vhost-user uses one per queue for kicks (VMM to
 * backend) and one for calls (backend to VMM).
 *
 * <p>{@link #signal} is the only native call on vdisk's per-request path; it allocates nothing.
 * Closing while another thread signals is the caller's race to prevent (the fd number could be
 * reused by an unrelated open in between), e.g. with a read-write lock around both.
 */
public final class EventFd implements Closeable {
  /** The constant 1 that {@link #signal} writes; shared read-only native memory. */
  private static final Memory ONE = new Memory(8);

  static {
    ONE.setLong(0, 1L);
  }

  private final OwnedFd fd;

  private EventFd(int fd) {
    this.fd = OwnedFd.adopt(fd);
  }

  /** A new close-on-exec eventfd with counter 0 (blocking reads). */
  public static EventFd create() throws NativeException {
    return create(false);
  }

  /** A new close-on-exec eventfd; {@code nonBlocking} makes reads of 0 return at once. */
  public static EventFd create(boolean nonBlocking) throws NativeException {
    int fd = LibC.eventfd(0, LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0));
    if (fd < 0) {
      throw NativeException.last("eventfd");
    }
    return new EventFd(fd);
  }

  /** Takes ownership of an eventfd received from a peer. */
  public static EventFd adopt(int fd) {
    return new EventFd(fd);
  }

  public int fd() {
    return fd.fd();
  }

  /** Adds 1 to the counter, waking a reader or poller. */
  public void signal() throws NativeException {
    int f = fd.fd();
    long n = LibC.write(f, ONE, 8);
    if (n != 8) {
      throw signalFailed(f);
    }
  }

  private static NativeException signalFailed(int f) {
    return NativeException.last("write(eventfd " + f + ")");
  }

  /**
   * Reads and resets the counter. Returns its value, or 0 when it was already 0 and the descriptor
   * is non-blocking (the peer chooses that flag: it is shared by every holder of the eventfd).
   *
   * @param scratch at least 8 bytes of native memory owned by the calling thread
   */
  public long drain(Pointer scratch) throws NativeException {
    int f = fd.fd();
    while (true) {
      long n = LibC.read(f, scratch, 8);
      if (n == 8) {
        return scratch.getLong(0);
      }
      int errno = LibC.errno();
      if (n < 0 && errno == Errno.EAGAIN) {
        return 0;
      }
      if (n < 0 && errno == Errno.EINTR) {
        continue;
      }
      throw n < 0
          ? new NativeException("read(eventfd " + f + ")", errno)
          : new NativeException("read(eventfd " + f + ") returned " + n + " bytes", Errno.EINVAL);
    }
  }

  @Override
  public void close() {
    fd.close();
  }

  @Override
  public String toString() {
    return "eventfd " + fd.fd();
  }
}
