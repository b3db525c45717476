package dev.vdisk.backend;

import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Cache-line-aligned, zeroed off-heap blocks for {@link RamDisk}'s chunks, each named by one {@code
 * long} handle that holds both the aligned address and what is needed to free it.
 *
 * <p>Why: {@code malloc} returns 16-byte-aligned memory, so a 64 KiB chunk starts anywhere within a
 * cache line, and so does every 4 KiB block inside it. Guest buffers are page-aligned; a copy whose
 * source and target disagree modulo 64 makes half of its 32-byte vector loads straddle two cache
 * lines. Guest memory is page-aligned (a VMM's mmap, and {@code MemoryRegion.allocate}), so
 * aligning the chunks makes source and target agree.
 *
 * <p>Handle layout: the allocation is {@link #ALIGNMENT} - 16 bytes larger than asked; the handle
 * is the first 64-byte boundary inside it, with (boundary - malloc result) / 16, a number from 0 to
 * 3, in its two low bits. {@link #address} masks those bits off, a single AND on the hot path.
 */
final class ChunkMemory {
  /** Alignment of every chunk: one cache line. */
  static final int ALIGNMENT = 64;

  /** malloc's guaranteed alignment on 64-bit glibc and musl. */
  private static final int MALLOC_ALIGNMENT = 16;

  private static final long LOW_BITS = ALIGNMENT - 1;
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

  private ChunkMemory() {}

  /** A zeroed block of {@code size} bytes; returns its handle (never 0). */
  static long allocate(int size) {
    long raw = MEMORY.allocate(size + ALIGNMENT - MALLOC_ALIGNMENT);
    if ((raw & (MALLOC_ALIGNMENT - 1)) != 0) {
      // Not expected from any supported allocator; free and refuse rather than mis-encode.
      MEMORY.freeMemory(raw, size + ALIGNMENT - MALLOC_ALIGNMENT);
      throw new IllegalStateException(
          "allocator returned 0x" + Long.toHexString(raw) + ", not 16-byte aligned");
    }
    long aligned = (raw + LOW_BITS) & ~LOW_BITS;
    MEMORY.setMemory(aligned, size, (byte) 0);
    return aligned | ((aligned - raw) / MALLOC_ALIGNMENT);
  }

  /** The first byte of the block named by {@code handle}. */
  static long address(long handle) {
    return handle & ~LOW_BITS;
  }

  /** Frees the block named by {@code handle}, allocated with {@code size}. */
  static void free(long handle, int size) {
    long aligned = address(handle);
    long raw = aligned - (handle & LOW_BITS) * MALLOC_ALIGNMENT;
    MEMORY.freeMemory(raw, size + ALIGNMENT - MALLOC_ALIGNMENT);
  }
}
