package dev.vdisk.virtio.driver;

/**
 * A bump allocator over a range of guest-physical memory the driver model owns (its "kernel heap"):
 * rings, indirect tables, request slots and bounce buffers. Never frees; a driver that is set up
 * again starts from a fresh allocator.
 */
public final class GuestAllocator {
  private final long base;
  private final long end;
  private long next;

  public GuestAllocator(long base, long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("DMA area size " + size + " (expected: > 0)");
    }
    this.base = base;
    this.end = base + size;
    this.next = base;
  }

  /** {@code size} bytes aligned to {@code alignment} (a power of two). */
  public long allocate(long size, long alignment) {
    long at = (next + alignment - 1) & -alignment;
    if (size < 0 || at + size > end || at < base) {
      throw new IllegalStateException(
          String.format(
              "driver DMA area [0x%x, 0x%x) exhausted: %d bytes aligned %d wanted at 0x%x",
              base, end, size, alignment, at));
    }
    next = at + size;
    return at;
  }

  /** Back to empty. */
  public void reset() {
    next = base;
  }

  public long used() {
    return next - base;
  }
}
