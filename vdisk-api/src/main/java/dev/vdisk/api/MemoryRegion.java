package dev.vdisk.api;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * One contiguous range of guest-physical address space backed by off-heap memory.
 *
 * <p>A region either owns its memory (allocated by vdisk, released by {@link #close()}) or wraps
 * memory the VMM owns (an mmap'd file or memfd), in which case closing it releases only vdisk's
 * wrapper. The host address is captured once so that accesses after a bounds check cost a single
 * add.
 */
public final class MemoryRegion implements AutoCloseable {
  private static final long PAGE = 4096;

  private final long guestBase;
  private final long size;
  private final boolean writable;
  private final BytesStore<?, ?> store;
  private final long hostAddress;
  private final Runnable unmapper;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MemoryRegion(
      long guestBase, long size, boolean writable, BytesStore<?, ?> store, Runnable unmapper) {
    checkLayout(guestBase, size);
    if (!store.isDirectMemory()) {
      throw new IllegalArgumentException("region store must be off-heap (direct) memory");
    }
    if (store.capacity() < size) {
      throw new IllegalArgumentException(
          "region store capacity " + store.capacity() + " is smaller than region size " + size);
    }
    this.guestBase = guestBase;
    this.size = size;
    this.writable = writable;
    this.store = store;
    this.hostAddress = store.addressForRead(0);
    this.unmapper = unmapper;
  }

  private static void checkLayout(long guestBase, long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("region size " + size + " (expected: > 0)");
    }
    // Unsigned: the last byte must not wrap below the base. A region may end exactly at the top of
    // the 64-bit space (base + size == 2^64, last byte 0xffff_ffff_ffff_ffff).
    if (Long.compareUnsigned(guestBase + size - 1, guestBase) < 0) {
      throw new IllegalArgumentException(
          "region 0x"
              + Long.toHexString(guestBase)
              + " + 0x"
              + Long.toHexString(size)
              + " wraps past the end of the 64-bit address space"
              + " (expected: base + size <= 2^64)");
    }
  }

  /** A writable region of zeroed off-heap memory owned by vdisk. */
  public static MemoryRegion allocate(long guestBase, long size) {
    // Checked before allocating so that a bad layout does not leak the store.
    checkLayout(guestBase, size);
    if (size > Long.MAX_VALUE - PAGE) {
      throw new IllegalArgumentException("region size " + size + " (too large to allocate)");
    }
    // Page-aligned like a VMM's mmap'd guest RAM: malloc alone gives 16-byte alignment, and buffers
    // that sit differently within a cache line than the disk's data make every copy slower.
    BytesStore<?, Void> raw = BytesStore.nativeStoreWithFixedCapacity(size + PAGE);
    long start = raw.addressForRead(0);
    long aligned = (start + PAGE - 1) & -PAGE;
    BytesStore<?, ?> store = BytesStore.wrap(aligned, size);
    store.zeroOut(0, size);
    return new MemoryRegion(guestBase, size, true, store, raw::releaseLast);
  }

  /**
   * Wraps memory the caller owns (for example an mmap'd region) without copying it. vdisk never
   * frees it; {@code unmapper} (may be null) runs once when the region is closed, so a VMM can tie
   * the mapping's lifetime to the region.
   */
  public static MemoryRegion wrap(
      long guestBase, long hostAddress, long size, boolean writable, Runnable unmapper) {
    if (hostAddress == 0) {
      throw new IllegalArgumentException("host address 0 (expected: a mapped address)");
    }
    checkLayout(guestBase, size);
    if (Long.compareUnsigned(hostAddress + size - 1, hostAddress) < 0) {
      throw new IllegalArgumentException(
          String.format(
              "host range 0x%x + 0x%x wraps past the end of the address space", hostAddress, size));
    }
    return new MemoryRegion(
        guestBase, size, writable, BytesStore.wrap(hostAddress, size), unmapper);
  }

  /** Wraps an existing off-heap store the caller keeps ownership of. */
  public static MemoryRegion of(long guestBase, BytesStore<?, ?> store, boolean writable) {
    Objects.requireNonNull(store, "store");
    return new MemoryRegion(guestBase, store.capacity(), writable, store, null);
  }

  public long guestBase() {
    return guestBase;
  }

  public long size() {
    return size;
  }

  /** Last guest-physical address inside this region (inclusive, so the top of memory works). */
  public long guestLast() {
    return guestBase + size - 1;
  }

  public boolean isWritable() {
    return writable;
  }

  /** The off-heap store behind this region; offsets into it are {@code gpa - guestBase()}. */
  public BytesStore<?, ?> store() {
    return store;
  }

  /** Host address of the region's first byte. Only for code that has bounds-checked its access. */
  public long hostAddress() {
    return hostAddress;
  }

  /** True when [gpa, gpa+length) lies wholly inside this region; overflow-safe, unsigned. */
  public boolean contains(long gpa, long length) {
    long offset = gpa - guestBase;
    return Long.compareUnsigned(gpa, guestBase) >= 0
        && Long.compareUnsigned(offset, size) < 0
        && length >= 0
        && length <= size - offset;
  }

  /**
   * The same memory as a region that refuses writes through vdisk's accessors and owns nothing
   * (closing it frees nothing and runs no unmapper). Used by read-only views of guest memory.
   */
  MemoryRegion readOnlyAlias() {
    return new MemoryRegion(guestBase, size, false, store, null);
  }

  /**
   * Frees the memory of an {@link #allocate}d region or runs a wrapped region's unmapper; only the
   * first call has an effect.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (unmapper != null) {
      unmapper.run();
    }
  }

  @Override
  public String toString() {
    return String.format(
        "[0x%x..0x%x]%s", guestBase, guestBase + size - 1, writable ? "" : " read-only");
  }
}
