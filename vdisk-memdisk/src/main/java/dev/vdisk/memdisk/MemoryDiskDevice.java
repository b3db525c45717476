package dev.vdisk.memdisk;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.GuestMemoryException;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.api.ReadableGuestMemory;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * A {@link BlockDevice} over a RAM disk that lives in guest memory: reads and writes go straight
 * between the guest's RAM disk and the caller's off-heap buffer (one copy, no heap), so the disk
 * can be served through vdisk-virtio while the guest keeps using it in place.
 *
 * <p>Every access is checked against the disk's size here and against the memory's regions by
 * {@code GuestMemory}; a disk that spans adjacent regions is split per region. Read-only when the
 * loader says so (MEMDISK {@code ro}, GRUB4DOS restriction read-only), when the memory region is
 * read-only, or when opened with {@link #readOnly}. A GRUB4DOS "fake write" disk accepts writes and
 * drops them, as GRUB4DOS does.
 *
 * <p>Thread-safe: it holds no mutable state but the closed flag; concurrent writes to one block
 * race as they would on the guest's own RAM.
 */
public final class MemoryDiskDevice implements BlockDevice {
  private final ReadableGuestMemory memory;
  private final GuestMemory writable; // null when read-only
  private final long base;
  private final long size;
  private final int blockSize;
  private final boolean discardWrites;
  private final Geometry geometry;
  private final MemoryDisk disk;
  private volatile boolean closed;

  private MemoryDiskDevice(
      ReadableGuestMemory memory, GuestMemory writable, MemoryDisk disk, boolean discardWrites) {
    if (disk.size() <= 0 || disk.sectorSize() <= 0 || disk.size() % disk.sectorSize() != 0) {
      throw new IllegalArgumentException(
          "disk size "
              + disk.size()
              + " (expected a positive multiple of "
              + disk.sectorSize()
              + ")");
    }
    if (!Bounds.covered(memory, disk.address(), disk.size())) {
      throw new IllegalArgumentException(
          String.format(
              "disk [0x%x, 0x%x) is not wholly in guest memory (mapped: %s)",
              disk.address(), disk.address() + disk.size(), memory.describeRanges()));
    }
    this.memory = memory;
    this.writable = writable;
    this.base = disk.address();
    this.size = disk.size();
    this.blockSize = disk.sectorSize();
    this.discardWrites = discardWrites;
    this.geometry = disk.geometry();
    this.disk = disk;
  }

  /**
   * A device over {@code disk} in {@code memory}: writable unless the loader marked the disk
   * read-only or a region under it is read-only.
   */
  public static MemoryDiskDevice open(GuestMemory memory, MemoryDisk disk) {
    boolean ro = disk.readOnly() || !allWritable(memory, disk.address(), disk.size());
    return new MemoryDiskDevice(memory, ro ? null : memory, disk, disk.writesDiscarded() && !ro);
  }

  /** A read-only device over {@code disk}, whatever the loader says. */
  public static MemoryDiskDevice readOnly(ReadableGuestMemory memory, MemoryDisk disk) {
    return new MemoryDiskDevice(memory, null, disk, false);
  }

  private static boolean allWritable(ReadableGuestMemory memory, long address, long length) {
    long a = address;
    long remaining = length;
    while (remaining > 0) {
      int i = memory.regionIndex(a, 1);
      if (i < 0) {
        return false;
      }
      MemoryRegion r = memory.region(i);
      if (!r.isWritable()) {
        return false;
      }
      long n = Math.min(remaining, r.guestLast() - a + 1);
      a += n;
      remaining -= n;
    }
    return true;
  }

  /** The probe's description of the disk this device shows. */
  public MemoryDisk disk() {
    return disk;
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
    return writable == null;
  }

  @Override
  public BlockCapabilities capabilities() {
    return BlockCapabilities.READ_WRITE_ONLY;
  }

  @Override
  public Geometry geometry() {
    return geometry;
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws BlockDeviceException {
    checkRange(offset, length);
    checkStore(dst, dstOffset, length, offset);
    long gpa = base + offset;
    long at = dstOffset;
    int remaining = length;
    try {
      while (remaining > 0) {
        int n = chunk(gpa, remaining);
        memory.copyTo(gpa, dst, at, n);
        gpa += n;
        at += n;
        remaining -= n;
      }
    } catch (GuestMemoryException e) {
      throw new BlockDeviceException(
          Reason.IO_ERROR, "guest memory: " + e.getMessage(), offset, length, e);
    }
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    if (writable == null) {
      throw new BlockDeviceException(Reason.READ_ONLY, "RAM disk is read-only", offset, length);
    }
    checkRange(offset, length);
    checkStore(src, srcOffset, length, offset);
    if (discardWrites) {
      return; // GRUB4DOS "fake write": the guest's writes succeed and leave the disk unchanged
    }
    long gpa = base + offset;
    long at = srcOffset;
    int remaining = length;
    try {
      while (remaining > 0) {
        int n = chunk(gpa, remaining);
        writable.copyFrom(src, at, gpa, n);
        gpa += n;
        at += n;
        remaining -= n;
      }
    } catch (GuestMemoryException e) {
      throw new BlockDeviceException(
          Reason.IO_ERROR, "guest memory: " + e.getMessage(), offset, length, e);
    }
  }

  /**
   * Bytes from {@code gpa} that lie in one region (the whole rest in the common one-region case).
   */
  private int chunk(long gpa, int remaining) {
    int i = memory.regionIndex(gpa, remaining);
    if (i >= 0) {
      return remaining;
    }
    i = memory.regionIndex(gpa, 1);
    if (i < 0) {
      return remaining; // let GuestMemory name the unmapped address
    }
    return (int) Math.min(remaining, memory.region(i).guestLast() - gpa + 1);
  }

  @Override
  public void flush() throws BlockDeviceException {
    checkOpen(0, 0);
  }

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    throw new BlockDeviceException(
        Reason.UNSUPPORTED, "discard not supported on a RAM disk in guest memory", offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    throw new BlockDeviceException(
        Reason.UNSUPPORTED,
        "write-zeroes not supported on a RAM disk in guest memory",
        offset,
        length);
  }

  /** Guest RAM has no holes: every byte of the disk is data. */
  @Override
  public long extent(long offset, long maxLength) throws BlockDeviceException {
    checkOpen(offset, maxLength);
    if (offset < 0 || offset >= size || maxLength <= 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "extent query outside the RAM disk of " + size + " bytes",
          offset,
          maxLength);
    }
    return Math.min(maxLength, size - offset);
  }

  private void checkRange(long offset, long length) throws BlockDeviceException {
    checkOpen(offset, length);
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range outside the RAM disk of " + size + " bytes", offset, length);
    }
  }

  private void checkOpen(long offset, long length) throws BlockDeviceException {
    if (closed) {
      throw new BlockDeviceException(Reason.IO_ERROR, "RAM disk view is closed", offset, length);
    }
  }

  private static void checkStore(BytesStore<?, ?> store, long storeOffset, int length, long offset)
      throws BlockDeviceException {
    if (!store.isDirectMemory() || storeOffset < 0 || length > store.capacity() - storeOffset) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory range [" + storeOffset + ", +" + length + ") outside its store",
          offset,
          length);
    }
  }

  /** Closes the view only; the guest's memory and the RAM disk in it are untouched. */
  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return String.format(
        "MemoryDiskDevice{%s at 0x%x, %d bytes, block %d%s}",
        disk.kind(), base, size, blockSize, isReadOnly() ? ", read-only" : "");
  }
}
