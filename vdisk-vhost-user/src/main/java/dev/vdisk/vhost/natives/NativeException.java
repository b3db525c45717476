package dev.vdisk.vhost.natives;

import java.io.IOException;

/**
 * A libc call failed. The message names the call, its subject (a path, an fd) and the errno both
 * symbolically and as the C library describes it, e.g. {@code "connect(/tmp/vdisk.sock):
 * ECONNREFUSED (Connection refused)"}.
 */
public final class NativeException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String call;
  private final int errno;

  NativeException(String call, int errno) {
    super(call + ": " + Errno.describe(errno));
    this.call = call;
    this.errno = errno;
  }

  /** The call that failed with its subject, e.g. {@code "recvmsg(fd 7)"}. */
  public String call() {
    return call;
  }

  /** The C errno value. */
  public int errno() {
    return errno;
  }

  /** Builds the exception from the calling thread's errno; call right after the failed call. */
  static NativeException last(String call) {
    return new NativeException(call, LibC.errno());
  }
}
