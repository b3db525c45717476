package dev.vdisk.vhost.natives;

import com.sun.jna.Memory;
import com.sun.jna.Platform;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Plain file-descriptor helpers: closing, checking, counting. */
public final class Fds {
  private Fds() {}

  /** Closes {@code fd}; throws naming the fd when the kernel refuses (EBADF: a double close). */
  public static void close(int fd) throws NativeException {
    if (LibC.close(fd) != 0) {
      int errno = LibC.errno();
      // EINTR on Linux still releases the descriptor; retrying could close someone else's fd.
      if (errno != Errno.EINTR) {
        throw new NativeException("close(fd " + fd + ")", errno);
      }
    }
  }

  /** Closes {@code fd} if it is >= 0 and ignores errors (for cleanup paths). */
  public static void closeQuietly(int fd) {
    if (fd >= 0) {
      LibC.close(fd);
    }
  }

  /** Closes every non-negative entry. */
  public static void closeAll(int[] fds) {
    if (fds != null) {
      for (int fd : fds) {
        closeQuietly(fd);
      }
    }
  }

  /** True when {@code fd} is an open descriptor of this process. */
  public static boolean isOpen(int fd) {
    return fd >= 0 && LibC.fcntl(fd, LibC.F_GETFD, 0) != -1;
  }

  /** Number of open descriptors of this process ({@code /proc/self/fd}); for leak checks. */
  public static int openCount() {
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      // The directory stream itself holds one descriptor while it is listed.
      return (int) s.count() - 1;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Number of memory mappings of this process ({@code /proc/self/maps}); for leak checks. */
  public static int mappingCount() {
    try (Stream<String> s = Files.lines(Path.of("/proc/self/maps"))) {
      return (int) s.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Type and size of an open file ({@code fstat}). */
  public record FileStat(int mode, long size) {
    /** A regular file (memfd, tmpfs and hugetlbfs files included). */
    public boolean isRegularFile() {
      return (mode & LibC.S_IFMT) == LibC.S_IFREG;
    }
  }

  /**
   * {@code fstat(fd)}: the file type and size. Lets a caller refuse to map past the end of a file,
   * which would turn a later access into SIGBUS.
   */
  public static FileStat stat(int fd) throws NativeException {
    Memory buf = new Memory(LibC.STAT_BUFFER_SIZE);
    buf.clear();
    if (LibC.fstat(fd, buf) != 0) {
      throw NativeException.last("fstat(fd " + fd + ")");
    }
    // Offsets of the kernel's generic struct stat (aarch64) and of x86-64's own layout.
    boolean x86 = Platform.isIntel();
    int mode = buf.getInt(x86 ? 24 : 16);
    long size = buf.getLong(48);
    return new FileStat(mode, size);
  }

  /** The system page size in bytes. */
  public static long pageSize() {
    return LibC.getpagesize();
  }
}
