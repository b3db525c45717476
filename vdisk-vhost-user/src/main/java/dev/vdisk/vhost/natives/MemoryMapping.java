package dev.vdisk.vhost.natives;

import java.io.Closeable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A shared mapping of part of a file ({@code mmap(MAP_SHARED)}), for guest memory a VMM passes as a
 * memfd. The requested offset need not be page-aligned: the mapping starts at the page below it and
 * {@link #address()} points at the requested byte. Unmapped exactly once by {@link #close()}.
 */
public final class MemoryMapping implements Closeable {
  private final long base;
  private final long mappedLength;
  private final long address;
  private final long length;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MemoryMapping(long base, long mappedLength, long address, long length) {
    this.base = base;
    this.mappedLength = mappedLength;
    this.address = address;
    this.length = length;
  }

  /**
   * Maps {@code length} bytes of {@code fd} from {@code offset}. The descriptor may be closed
   * afterwards; the mapping keeps the file alive.
   */
  public static MemoryMapping map(int fd, long offset, long length, boolean writable)
      throws NativeException {
    if (length <= 0) {
      throw new IllegalArgumentException("mapping length " + length + " (expected > 0)");
    }
    if (offset < 0) {
      throw new IllegalArgumentException("mapping offset " + offset + " (expected >= 0)");
    }
    long page = Fds.pageSize();
    long slack = offset % page;
    long mappedLength = length + slack;
    if (mappedLength < length) {
      throw new IllegalArgumentException("mapping length " + length + " overflows");
    }
    int prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
    long base =
        LibC.mmap(0, mappedLength, prot, LibC.MAP_SHARED | LibC.MAP_NORESERVE, fd, offset - slack);
    if (base == LibC.MAP_FAILED) {
      throw NativeException.last(
          "mmap(fd " + fd + ", offset " + offset + ", length " + length + ")");
    }
    return new MemoryMapping(base, mappedLength, base + slack, length);
  }

  /** Address of the byte at the requested offset. */
  public long address() {
    return address;
  }

  /** Length requested. */
  public long length() {
    return length;
  }

  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      LibC.munmap(base, mappedLength);
    }
  }

  @Override
  public String toString() {
    return String.format("mapping 0x%x+0x%x", address, length);
  }
}
