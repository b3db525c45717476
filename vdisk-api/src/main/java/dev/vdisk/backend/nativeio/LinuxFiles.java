package dev.vdisk.backend.nativeio;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux file calls Java has no API for: hole punching and zeroing ({@code fallocate}) and
 * sparse-file queries ({@code lseek} with SEEK_DATA / SEEK_HOLE). Only on 64-bit Linux (where
 * {@code off_t} is 64 bits); {@link #isAvailable()} says whether the rest may be called.
 *
 * <p>Constants are Linux's generic values, the same on x86-64 and arm64.
 */
public final class LinuxFiles {
  private static final Logger LOG = LoggerFactory.getLogger(LinuxFiles.class);

  /** fallocate: keep the file size even when the range extends past it. */
  public static final int FALLOC_FL_KEEP_SIZE = 0x01;

  /** fallocate: deallocate the range (must be combined with KEEP_SIZE); reads return zeroes. */
  public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

  /** fallocate: zero the range, keeping (or converting to unwritten) its allocation. */
  public static final int FALLOC_FL_ZERO_RANGE = 0x10;

  /** sync_file_range: wait for writeback of the range already under way before starting. */
  public static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;

  /** sync_file_range: start writeback of the range's dirty pages. */
  public static final int SYNC_FILE_RANGE_WRITE = 2;

  /** sync_file_range: wait for the writeback to finish. */
  public static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;

  static final int POSIX_FADV_DONTNEED = 4;
  static final int O_RDONLY = 0;
  static final int O_RDWR = 2;
  static final int O_CLOEXEC = 0x80000;
  static final int SEEK_END = 2;
  static final int SEEK_DATA = 3;
  static final int SEEK_HOLE = 4;
  static final int EINTR = 4;
  static final int ENXIO = 6;
  static final int EINVAL = 22;
  static final int ENOSYS = 38;
  static final int EOPNOTSUPP = 95;

  /** The libc entry points, bound once. */
  interface LibC extends Library {
    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    long lseek(int fd, long offset, int whence) throws LastErrorException;

    int sync_file_range(int fd, long offset, long nbytes, int flags) throws LastErrorException;

    // Returns the error number instead of setting errno.
    int posix_fadvise(int fd, long offset, long len, int advice);
  }

  private static final LibC LIBC = load();

  private LinuxFiles() {}

  private static LibC load() {
    if (!Platform.isLinux() || Native.LONG_SIZE != 8) {
      return null;
    }
    try {
      return Native.load("c", LibC.class);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      LOG.warn("libc not reachable through JNA ({}); file disks fall back to plain Java I/O", e);
      return null;
    }
  }

  /** True when the calls below work on this platform. */
  public static boolean isAvailable() {
    return LIBC != null;
  }

  /** Opens {@code path} (close-on-exec) and returns the descriptor. */
  public static int open(Path path, boolean writable) throws IOException {
    try {
      return libc().open(path.toString(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot open " + path + (writable ? " for writing" : "") + ": " + describe(e), e);
    }
  }

  public static void close(int fd) throws IOException {
    try {
      libc().close(fd);
    } catch (LastErrorException e) {
      throw new IOException("close(" + fd + "): " + describe(e), e);
    }
  }

  /**
   * {@code fallocate(fd, mode, offset, length)}. Returns false when the file system does not
   * support {@code mode} (EOPNOTSUPP, ENOSYS, or EINVAL for modes it does not know), so the caller
   * can fall back to writing zeroes; throws for every other failure.
   */
  public static boolean fallocate(int fd, int mode, long offset, long length) throws IOException {
    while (true) {
      try {
        libc().fallocate(fd, mode, offset, length);
        return true;
      } catch (LastErrorException e) {
        int errno = e.getErrorCode();
        if (errno == EINTR) {
          continue;
        }
        if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
          return false;
        }
        throw new IOException(
            "fallocate(mode 0x"
                + Integer.toHexString(mode)
                + ", offset "
                + offset
                + ", length "
                + length
                + "): "
                + describe(e),
            e);
      }
    }
  }

  /**
   * The first offset at or after {@code offset} that holds data, or -1 when only a hole follows up
   * to the end of the file.
   */
  public static long seekData(int fd, long offset) throws IOException {
    try {
      return libc().lseek(fd, offset, SEEK_DATA);
    } catch (LastErrorException e) {
      if (e.getErrorCode() == ENXIO) {
        return -1;
      }
      throw new IOException("lseek(SEEK_DATA, " + offset + "): " + describe(e), e);
    }
  }

  /** The first offset at or after {@code offset} in a hole (the file's end counts as one). */
  public static long seekHole(int fd, long offset) throws IOException {
    try {
      return libc().lseek(fd, offset, SEEK_HOLE);
    } catch (LastErrorException e) {
      throw new IOException("lseek(SEEK_HOLE, " + offset + "): " + describe(e), e);
    }
  }

  /**
   * {@code sync_file_range(fd, offset, length, flags)}: writeback control for a byte range. It
   * neither flushes metadata nor the device's cache, so it is no substitute for fsync; writers of
   * long streams use it to keep dirty pages from piling up.
   */
  public static void syncFileRange(int fd, long offset, long length, int flags) throws IOException {
    while (true) {
      try {
        libc().sync_file_range(fd, offset, length, flags);
        return;
      } catch (LastErrorException e) {
        if (e.getErrorCode() != EINTR) {
          throw new IOException(
              "sync_file_range(offset "
                  + offset
                  + ", length "
                  + length
                  + ", flags "
                  + flags
                  + "): "
                  + describe(e),
              e);
        }
      }
    }
  }

  /**
   * {@code posix_fadvise(fd, offset, length, POSIX_FADV_DONTNEED)}: drops the range's clean pages
   * from the page cache (dirty pages stay; write them back first).
   */
  public static void dropFromPageCache(int fd, long offset, long length) throws IOException {
    int err = libc().posix_fadvise(fd, offset, length, POSIX_FADV_DONTNEED);
    if (err != 0) {
      throw new IOException(
          "posix_fadvise(DONTNEED, offset " + offset + ", length " + length + "): errno " + err);
    }
  }

  /** Size of the file or block device behind {@code fd} (works for block devices, unlike stat). */
  public static long size(int fd) throws IOException {
    try {
      return libc().lseek(fd, 0, SEEK_END);
    } catch (LastErrorException e) {
      throw new IOException("lseek(SEEK_END): " + describe(e), e);
    }
  }

  private static LibC libc() {
    if (LIBC == null) {
      throw new UnsupportedOperationException("Linux file calls are not available here");
    }
    return LIBC;
  }

  private static String describe(LastErrorException e) {
    return "errno " + e.getErrorCode() + " (" + e.getMessage() + ")";
  }
}
