package dev.vdisk.vhost.natives;

/**
 * Anonymous shared memory files ({@code memfd_create}): what QEMU's {@code memory-backend-memfd}
 * hands to a vhost-user backend. Tests use them to play the VMM.
 */
public final class MemFd {
  private MemFd() {}

  /** A close-on-exec memfd of {@code size} zero bytes. */
  public static OwnedFd create(String name, long size) throws NativeException {
    if (size < 0) {
      throw new IllegalArgumentException("memfd size " + size + " (expected >= 0)");
    }
    int fd = LibC.memfd_create(name, LibC.MFD_CLOEXEC);
    if (fd < 0) {
      throw NativeException.last("memfd_create(" + name + ")");
    }
    if (LibC.ftruncate(fd, size) != 0) {
      NativeException e = NativeException.last("ftruncate(memfd " + fd + ", " + size + ")");
      Fds.closeQuietly(fd);
      throw e;
    }
    return OwnedFd.adopt(fd);
  }
}
