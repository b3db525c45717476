package dev.vdisk.memdisk.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Maps a whole file into the address space with POSIX {@code mmap}, so a multi-GiB memory dump is
 * one contiguous range (FileChannel.map stops at 2 GiB) that is paged in on demand, never read into
 * the heap. The only class in vdisk-memdisk that calls native code.
 */
public final class PosixMmap {
  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int PROT_READ = 1;
  private static final int PROT_WRITE = 2;
  private static final int MAP_SHARED = 1;

  private PosixMmap() {}

  /** A live mapping; {@link #unmap} releases it once. */
  public record Mapping(long address, long length) {
    public void unmap() {
      try {
        LibC.INSTANCE.munmap(new Pointer(address), length);
      } catch (LastErrorException e) {
        // Nothing useful to do at close time: the address range stays reserved until exit.
      }
    }
  }

  /** True when libc could be loaded (Linux, macOS and other POSIX systems). */
  public static boolean available() {
    try {
      return LibC.INSTANCE != null;
    } catch (LinkageError e) {
      return false;
    }
  }

  /** Maps {@code length} bytes of {@code file} from offset 0, shared, read-only or read-write. */
  public static Mapping map(Path file, long length, boolean writable) throws IOException {
    int fd;
    try {
      fd = LibC.INSTANCE.open(file.toString(), writable ? O_RDWR : O_RDONLY);
    } catch (LastErrorException e) {
      throw new IOException("cannot open " + file + ": errno " + e.getErrorCode(), e);
    }
    try {
      Pointer p =
          LibC.INSTANCE.mmap(
              null, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
      long address = Pointer.nativeValue(p);
      if (address == -1 || address == 0) {
        throw new IOException("cannot map " + length + " bytes of " + file);
      }
      return new Mapping(address, length);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot map " + length + " bytes of " + file + ": errno " + e.getErrorCode(), e);
    } finally {
      try {
        LibC.INSTANCE.close(fd); // the mapping keeps the file referenced
      } catch (LastErrorException ignored) {
        // close of a read-only descriptor cannot lose data
      }
    }
  }

  interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int open(String path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset)
        throws LastErrorException;

    int munmap(Pointer addr, long length) throws LastErrorException;
  }
}
