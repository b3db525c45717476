package dev.vdisk.api;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * Read access to a guest-physical address space. Every accessor checks its whole range against one
 * region before touching memory and throws {@link GuestMemoryException} otherwise; the checks
 * cannot be turned off. All multi-byte accessors are little-endian, whatever the host's order.
 *
 * <p>Callers that only read (probes, parsers of guest tables) take this type, so that a write is a
 * compile error rather than a code-review finding.
 */
public interface ReadableGuestMemory {

  /** Number of regions, sorted by guest base address. */
  int regionCount();

  MemoryRegion region(int index);

  /**
   * Index of the region holding all of [gpa, gpa+length), or -1. Never throws and never allocates,
   * so hot paths can handle a bad guest address as a status rather than an exception.
   */
  int regionIndex(long gpa, long length);

  /** The region holding all of [gpa, gpa+length); throws naming the mapped ranges otherwise. */
  MemoryRegion regionFor(long gpa, long length);

  /** A slice of one region; throws when the range is unmapped or crosses a region boundary. */
  MemorySlice slice(long gpa, int length);

  int u8(long gpa);

  int u16(long gpa);

  long u32(long gpa);

  /** 64-bit value; Java has no unsigned long, so values above 2^63 come back negative. */
  long u64(long gpa);

  /** 16-bit load with acquire semantics (for ring indices the other side publishes). */
  int lvU16(long gpa);

  /** Copies guest bytes to a heap array. */
  void read(long gpa, byte[] dst, int dstOffset, int length);

  /** Copies guest bytes into another off-heap store (bounds of {@code dst} are checked too). */
  void copyTo(long gpa, BytesStore<?, ?> dst, long dstOffset, long length);

  /** The mapped ranges, for messages and diagnostics. */
  String describeRanges();
}
