package dev.vdisk.backend;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.StampedLock;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * A sparse disk in off-heap memory. The disk is cut into chunks that are allocated on first write;
 * a chunk never written reads as zeroes and costs only one slot in the chunk table, so a 64 GiB
 * disk can live on a much smaller machine as long as little of it is written. Discard and
 * write-zeroes with unmap free whole chunks.
 *
 * <p>Concurrency: reads and writes from any number of threads run under a shared side; freeing a
 * chunk (discard, unmap, resize, close) takes the exclusive side, so no copy can touch memory that
 * is being freed. Chunk allocation races are settled with a CAS. The shared side of reads and
 * writes is a {@link ReaderSlots} slot (no locked instruction after the copy), falling back to the
 * shared side of one {@link StampedLock}; the exclusive side is that lock's write lock plus {@link
 * ReaderSlots#block}.
 */
public final class RamDisk implements BlockDevice {
  /**
   * Chunk size: small enough that scattered 4 KiB writes stay cheap, large enough for few slots.
   */
  public static final int DEFAULT_CHUNK_SIZE = 64 * 1024;

  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

  private final int chunkShift;
  private final int chunkSize;
  private final int blockSize;
  private final StampedLock lock = new StampedLock();
  private final ReaderSlots readers = new ReaderSlots();
  private final CopyOnWriteArrayList<SizeListener> sizeListeners = new CopyOnWriteArrayList<>();
  private final AtomicLong allocatedChunks = new AtomicLong();
  private final BlockCapabilities capabilities;
  private volatile AtomicLongArray chunks;
  private volatile long size;
  private volatile boolean closed;

  private RamDisk(long size, int blockSize, int chunkSize) {
    if (blockSize != 512 && blockSize != 2048 && blockSize != 4096) {
      throw new IllegalArgumentException(
          "block size " + blockSize + " (expected 512, 2048 or 4096)");
    }
    if (chunkSize < blockSize || Integer.bitCount(chunkSize) != 1) {
      throw new IllegalArgumentException(
          "chunk size " + chunkSize + " (expected a power of two >= block size " + blockSize + ")");
    }
    checkSize(size, blockSize);
    this.blockSize = blockSize;
    this.chunkSize = chunkSize;
    this.chunkShift = Integer.numberOfTrailingZeros(chunkSize);
    this.size = size;
    this.chunks = new AtomicLongArray(chunkCount(size));
    this.capabilities = new BlockCapabilities(false, true, true, true, true, 1L << 40, chunkSize);
  }

  /** A zero-filled sparse RAM disk of {@code size} bytes with 512-byte blocks. */
  public static RamDisk create(long size) {
    return new RamDisk(size, 512, DEFAULT_CHUNK_SIZE);
  }

  public static RamDisk create(long size, int blockSize) {
    return new RamDisk(size, blockSize, Math.max(DEFAULT_CHUNK_SIZE, blockSize));
  }

  public static RamDisk create(long size, int blockSize, int chunkSize) {
    return new RamDisk(size, blockSize, chunkSize);
  }

  private static void checkSize(long size, int blockSize) {
    if (size <= 0 || size % blockSize != 0) {
      throw new IllegalArgumentException(
          "RAM disk size "
              + size
              + " (expected: > 0 and a multiple of block size "
              + blockSize
              + ")");
    }
  }

  private int chunkCount(long bytes) {
    long n = (bytes + chunkSize - 1) >>> chunkShift;
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "RAM disk size " + bytes + " needs " + n + " chunks of " + chunkSize + " (too many)");
    }
    return (int) n;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public BlockCapabilities capabilities() {
    return capabilities;
  }

  @Override
  public Geometry geometry() {
    return blockSize == 2048 ? Geometry.forCdrom(size) : Geometry.forHardDisk(size, blockSize);
  }

  /** Bytes of memory currently allocated to chunks. */
  public long allocatedBytes() {
    return allocatedChunks.get() * chunkSize;
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws BlockDeviceException {
    // The disk range is checked once, under the shared side (checkOpen), where the size is stable.
    long dstAddress = Ranges.storeAddress(dst, dstOffset, length, offset);
    int slot = readers.enter();
    long stamp = slot < 0 ? lock.readLock() : 0L;
    try {
      checkOpen(offset, length);
      AtomicLongArray c = chunks;
      long pos = offset;
      long remaining = length;
      while (remaining > 0) {
        int index = (int) (pos >>> chunkShift);
        int within = (int) (pos & (chunkSize - 1));
        int n = (int) Math.min(remaining, chunkSize - within);
        long chunk = c.get(index);
        if (chunk == 0) {
          MEMORY.setMemory(dstAddress, n, (byte) 0);
        } else {
          MEMORY.copyMemory(ChunkMemory.address(chunk) + within, dstAddress, (long) n);
        }
        pos += n;
        dstAddress += n;
        remaining -= n;
      }
    } finally {
      leaveShared(slot, stamp);
    }
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    long srcAddress = Ranges.storeAddress(src, srcOffset, length, offset);
    int slot = readers.enter();
    long stamp = slot < 0 ? lock.readLock() : 0L;
    try {
      checkOpen(offset, length);
      AtomicLongArray c = chunks;
      long pos = offset;
      long remaining = length;
      while (remaining > 0) {
        int index = (int) (pos >>> chunkShift);
        int within = (int) (pos & (chunkSize - 1));
        int n = (int) Math.min(remaining, chunkSize - within);
        MEMORY.copyMemory(srcAddress, chunkForWrite(c, index) + within, (long) n);
        pos += n;
        srcAddress += n;
        remaining -= n;
      }
    } finally {
      leaveShared(slot, stamp);
    }
  }

  private void leaveShared(int slot, long stamp) {
    if (slot >= 0) {
      readers.exit(slot);
    } else {
      lock.unlockRead(stamp);
    }
  }

  /**
   * The exclusive side: no read, write or other exclusive holder runs until {@link
   * #releaseExclusive}.
   */
  private long exclusive() {
    long stamp = lock.writeLock();
    readers.block();
    return stamp;
  }

  private void releaseExclusive(long stamp) {
    readers.unblock();
    lock.unlockWrite(stamp);
  }

  /** The address of chunk {@code index}, allocated (zeroed) if it has never been written. */
  private long chunkForWrite(AtomicLongArray c, int index) {
    long chunk = c.get(index);
    if (chunk != 0) {
      return ChunkMemory.address(chunk);
    }
    long fresh = ChunkMemory.allocate(chunkSize);
    if (c.compareAndSet(index, 0, fresh)) {
      allocatedChunks.incrementAndGet();
      return ChunkMemory.address(fresh);
    }
    ChunkMemory.free(fresh, chunkSize);
    return ChunkMemory.address(c.get(index));
  }

  @Override
  public void flush() throws BlockDeviceException {
    if (closed) {
      throw new BlockDeviceException(Reason.IO_ERROR, "RAM disk is closed", 0, 0);
    }
  }

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    zeroRange(offset, length, true);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    zeroRange(offset, length, mayUnmap);
  }

  @Override
  public void secureErase(long offset, long length) throws BlockDeviceException {
    // Freed chunks are zeroed again on reuse, and partial chunks are overwritten with zeroes, so
    // nothing of the old data survives in this process's view.
    zeroRange(offset, length, true);
  }

  /** Zeroes the range; whole chunks inside it are freed when {@code free} is set. */
  private void zeroRange(long offset, long length, boolean free) throws BlockDeviceException {
    checkRange(offset, length);
    // Zeroing inside chunks is just a write and runs beside reads and writes; only freeing a chunk
    // needs the exclusive lock, so a small discard does not stall every other queue.
    boolean freesChunks = free && coversWholeChunk(offset, length);
    long stamp = freesChunks ? exclusive() : lock.readLock();
    try {
      checkOpen(offset, length);
      AtomicLongArray c = chunks;
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        int index = (int) (pos >>> chunkShift);
        int within = (int) (pos & (chunkSize - 1));
        int n = (int) Math.min(end - pos, chunkSize - within);
        long chunk = c.get(index);
        if (chunk != 0) {
          if (freesChunks && n == chunkSize) {
            c.set(index, 0);
            allocatedChunks.decrementAndGet();
            ChunkMemory.free(chunk, chunkSize);
          } else {
            MEMORY.setMemory(ChunkMemory.address(chunk) + within, n, (byte) 0);
          }
        }
        pos += n;
      }
    } finally {
      if (freesChunks) {
        releaseExclusive(stamp);
      } else {
        lock.unlockRead(stamp);
      }
    }
  }

  /** True when [offset, offset+length) contains at least one whole chunk. */
  private boolean coversWholeChunk(long offset, long length) {
    long firstWhole = (offset + chunkSize - 1) & -(long) chunkSize;
    return length >= chunkSize && firstWhole + chunkSize <= offset + length;
  }

  @Override
  public long extent(long offset, long maxLength) throws BlockDeviceException {
    long stamp = lock.readLock();
    try {
      if (closed) {
        throw new BlockDeviceException(Reason.IO_ERROR, "RAM disk is closed", offset, maxLength);
      }
      // Checked under the lock: a concurrent shrink must not leave offset past the chunk table.
      long s = size;
      if (offset < 0 || offset >= s || maxLength <= 0) {
        throw new BlockDeviceException(
            Reason.OUT_OF_RANGE,
            "extent query outside the disk of " + s + " bytes",
            offset,
            maxLength);
      }
      AtomicLongArray c = chunks;
      long end = offset + Math.min(maxLength, s - offset);
      boolean data = c.get((int) (offset >>> chunkShift)) != 0;
      long pos = offset;
      while (pos < end && (c.get((int) (pos >>> chunkShift)) != 0) == data) {
        pos = ((pos >>> chunkShift) + 1) << chunkShift;
      }
      long run = Math.min(pos, end) - offset;
      return data ? run : -run;
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /**
   * Changes the disk's size at run time. Growing adds zeroes; shrinking frees the chunks past the
   * new end. Size listeners are told afterwards (a virtio front end raises a config interrupt).
   */
  public void resize(long newSize) {
    checkSize(newSize, blockSize);
    long stamp = exclusive();
    try {
      if (closed) {
        throw new IllegalStateException("RAM disk is closed");
      }
      AtomicLongArray old = chunks;
      AtomicLongArray grown = new AtomicLongArray(chunkCount(newSize));
      int keep = Math.min(old.length(), grown.length());
      for (int i = 0; i < keep; i++) {
        grown.set(i, old.get(i));
      }
      for (int i = keep; i < old.length(); i++) {
        long chunk = old.get(i);
        if (chunk != 0) {
          allocatedChunks.decrementAndGet();
          ChunkMemory.free(chunk, chunkSize);
        }
      }
      // Shrinking to the middle of a chunk: zero the tail so a later grow reads zeroes there.
      if (newSize < size && (newSize & (chunkSize - 1)) != 0) {
        long chunk = grown.get(keep - 1);
        if (chunk != 0) {
          int within = (int) (newSize & (chunkSize - 1));
          MEMORY.setMemory(ChunkMemory.address(chunk) + within, chunkSize - within, (byte) 0);
        }
      }
      chunks = grown;
      size = newSize;
    } finally {
      releaseExclusive(stamp);
    }
    for (SizeListener l : sizeListeners) {
      l.sizeChanged(this, newSize);
    }
  }

  @Override
  public void addSizeListener(SizeListener listener) {
    sizeListeners.add(listener);
  }

  private void checkRange(long offset, long length) throws BlockDeviceException {
    Ranges.checkDisk(offset, length, size);
  }

  private void checkOpen(long offset, long length) throws BlockDeviceException {
    if (closed) {
      throw new BlockDeviceException(Reason.IO_ERROR, "RAM disk is closed", offset, length);
    }
    // Under the lock: a concurrent shrink cannot move the end between this check and the copy.
    Ranges.checkDisk(offset, length, size);
  }

  @Override
  public void close() {
    long stamp = exclusive();
    try {
      if (closed) {
        return;
      }
      closed = true;
      AtomicLongArray c = chunks;
      for (int i = 0; i < c.length(); i++) {
        long chunk = c.get(i);
        if (chunk != 0) {
          c.set(i, 0);
          allocatedChunks.decrementAndGet();
          ChunkMemory.free(chunk, chunkSize);
        }
      }
    } finally {
      releaseExclusive(stamp);
    }
  }

  @Override
  public String toString() {
    return "RamDisk{" + size + " bytes, block " + blockSize + "}";
  }
}
