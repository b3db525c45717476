package dev.vdisk.vhost.natives;

import java.io.Closeable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One file descriptor with a single owner: closed exactly once, by {@link #close()}, after which
 * {@link #fd()} returns -1. Use it for descriptors received from a peer until they are handed on
 * (mapped, wrapped as an eventfd) or dropped.
 */
public final class OwnedFd implements Closeable {
  private final AtomicInteger fd;

  private OwnedFd(int fd) {
    if (fd < 0) {
      throw new IllegalArgumentException("fd " + fd + " (expected >= 0)");
    }
    this.fd = new AtomicInteger(fd);
  }

  /** Takes ownership of {@code fd}. */
  public static OwnedFd adopt(int fd) {
    return new OwnedFd(fd);
  }

  /** The descriptor, or -1 after close/release. */
  public int fd() {
    return fd.get();
  }

  /** Gives up ownership without closing; returns the descriptor (-1 if already closed). */
  public int release() {
    return fd.getAndSet(-1);
  }

  @Override
  public void close() {
    Fds.closeQuietly(fd.getAndSet(-1));
  }

  @Override
  public String toString() {
    return "fd " + fd.get();
  }
}
