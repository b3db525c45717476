package dev.vdisk.api;

import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * A guest-physical address space made of sorted, non-overlapping {@link MemoryRegion}s.
 *
 * <p>Lookup is a binary search over a flat array of bases (one region, the common case, short-cuts
 * it). Each access is checked against the region it falls in with overflow-safe unsigned arithmetic
 * before the host address is touched: Chronicle's own random access on native stores is not
 * bounds-checked, so this class is the only guard between a hostile guest address and foreign host
 * memory.
 *
 * <p>Thread-safety: the region table is immutable; accesses from several threads are as safe as the
 * guest's own concurrent accesses to the same bytes.
 */
public final class GuestMemory implements ReadableGuestMemory, AutoCloseable {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final boolean BIG_ENDIAN_HOST = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;

  private final MemoryRegion[] regions;
  private final long[] bases;
  private final long[] lasts;
  private final long[] hostAddresses;
  private final boolean[] writable;
  private final ReadOnlyGuestMemory readOnlyView;

  private GuestMemory(MemoryRegion[] sorted) {
    this.regions = sorted;
    int n = sorted.length;
    this.bases = new long[n];
    this.lasts = new long[n];
    this.hostAddresses = new long[n];
    this.writable = new boolean[n];
    for (int i = 0; i < n; i++) {
      bases[i] = sorted[i].guestBase();
      lasts[i] = sorted[i].guestLast();
      hostAddresses[i] = sorted[i].hostAddress();
      writable[i] = sorted[i].isWritable();
    }
    this.readOnlyView = new ReadOnlyGuestMemory(this);
  }

  /**
   * Builds an address space from regions in any order. Throws when two regions overlap, naming
   * both.
   */
  public static GuestMemory of(List<MemoryRegion> regions) {
    if (regions.isEmpty()) {
      throw new IllegalArgumentException("guest memory needs at least one region");
    }
    MemoryRegion[] sorted = regions.toArray(new MemoryRegion[0]);
    for (int i = 0; i < sorted.length; i++) {
      if (sorted[i] == null) {
        throw new IllegalArgumentException("guest memory region " + i + " is null");
      }
    }
    Arrays.sort(sorted, Comparator.comparing(MemoryRegion::guestBase, Long::compareUnsigned));
    for (int i = 1; i < sorted.length; i++) {
      if (Long.compareUnsigned(sorted[i].guestBase(), sorted[i - 1].guestLast()) <= 0) {
        throw new IllegalArgumentException(
            "guest memory regions overlap: "
                + sorted[i - 1]
                + " and "
                + sorted[i]
                + " (expected: non-overlapping regions)");
      }
    }
    return new GuestMemory(sorted);
  }

  public static GuestMemory of(MemoryRegion... regions) {
    return of(Arrays.asList(regions));
  }

  /** One region of freshly allocated, zeroed memory at guest address {@code base}. */
  public static GuestMemory allocate(long base, long size) {
    return of(MemoryRegion.allocate(base, size));
  }

  @Override
  public int regionCount() {
    return regions.length;
  }

  @Override
  public MemoryRegion region(int index) {
    return regions[index];
  }

  /** The regions, sorted by base. */
  public List<MemoryRegion> regions() {
    return List.of(regions);
  }

  @Override
  public int regionIndex(long gpa, long length) {
    int i = find(gpa);
    if (i < 0 || length < 0) {
      return -1;
    }
    // gpa is inside region i; bytes available from gpa to the region's last byte, inclusive.
    long available = lasts[i] - gpa;
    if (length != 0 && Long.compareUnsigned(length - 1, available) > 0) {
      return -1;
    }
    return i;
  }

  /** Index of the region containing {@code gpa}, or -1. */
  private int find(long gpa) {
    long[] b = bases;
    if (b.length == 1) {
      return Long.compareUnsigned(gpa, b[0]) >= 0 && Long.compareUnsigned(gpa, lasts[0]) <= 0
          ? 0
          : -1;
    }
    int lo = 0;
    int hi = b.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(b[mid], gpa) <= 0) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    int i = lo - 1;
    return i >= 0 && Long.compareUnsigned(gpa, lasts[i]) <= 0 ? i : -1;
  }

  @Override
  public MemoryRegion regionFor(long gpa, long length) {
    int i = regionIndex(gpa, length);
    if (i < 0) {
      throw outOfRange(gpa, length, "not mapped");
    }
    return regions[i];
  }

  @Override
  public MemorySlice slice(long gpa, int length) {
    int i = checkedIndex(gpa, length);
    return new MemorySlice(gpa, regions[i].store(), gpa - bases[i], length, writable[i]);
  }

  /**
   * Host address of [gpa, gpa+length) after checking it lies in one region. Only for code that must
   * hand a raw address to the OS or a copy routine; everything else uses the accessors.
   */
  public long hostAddress(long gpa, long length) {
    int i = checkedIndex(gpa, length);
    return hostAddresses[i] + (gpa - bases[i]);
  }

  /** Like {@link #hostAddress} but also refuses a read-only region. */
  public long hostAddressForWrite(long gpa, long length) {
    int i = checkedIndex(gpa, length);
    if (!writable[i]) {
      throw outOfRange(gpa, length, "read-only region");
    }
    return hostAddresses[i] + (gpa - bases[i]);
  }

  private int checkedIndex(long gpa, long length) {
    int i = regionIndex(gpa, length);
    if (i < 0) {
      throw outOfRange(gpa, length, "not mapped");
    }
    return i;
  }

  private long readAddress(long gpa, int length) {
    int i = checkedIndex(gpa, length);
    return hostAddresses[i] + (gpa - bases[i]);
  }

  private long writeAddress(long gpa, long length) {
    return hostAddressForWrite(gpa, length);
  }

  @Override
  public int u8(long gpa) {
    return MEMORY.readByte(readAddress(gpa, 1)) & 0xff;
  }

  @Override
  public int u16(long gpa) {
    short v = MEMORY.readShort(readAddress(gpa, 2));
    return (BIG_ENDIAN_HOST ? Short.reverseBytes(v) : v) & 0xffff;
  }

  @Override
  public long u32(long gpa) {
    int v = MEMORY.readInt(readAddress(gpa, 4));
    return (BIG_ENDIAN_HOST ? Integer.reverseBytes(v) : v) & 0xffff_ffffL;
  }

  @Override
  public long u64(long gpa) {
    long v = MEMORY.readLong(readAddress(gpa, 8));
    return BIG_ENDIAN_HOST ? Long.reverseBytes(v) : v;
  }

  @Override
  public int lvU16(long gpa) {
    int v = u16(gpa);
    VarHandle.acquireFence();
    return v;
  }

  public void putU8(long gpa, int value) {
    MEMORY.writeByte(writeAddress(gpa, 1), (byte) value);
  }

  public void putU16(long gpa, int value) {
    short v = (short) value;
    MEMORY.writeShort(writeAddress(gpa, 2), BIG_ENDIAN_HOST ? Short.reverseBytes(v) : v);
  }

  public void putU32(long gpa, long value) {
    int v = (int) value;
    MEMORY.writeInt(writeAddress(gpa, 4), BIG_ENDIAN_HOST ? Integer.reverseBytes(v) : v);
  }

  public void putU64(long gpa, long value) {
    MEMORY.writeLong(writeAddress(gpa, 8), BIG_ENDIAN_HOST ? Long.reverseBytes(value) : value);
  }

  /** 16-bit store with release semantics: every earlier write is visible before this one. */
  public void soU16(long gpa, int value) {
    long address = writeAddress(gpa, 2);
    short v = (short) value;
    VarHandle.releaseFence();
    MEMORY.writeShort(address, BIG_ENDIAN_HOST ? Short.reverseBytes(v) : v);
  }

  @Override
  public void read(long gpa, byte[] dst, int dstOffset, int length) {
    checkArray(dst.length, dstOffset, length);
    long src = readAddress(gpa, length);
    MEMORY.readBytes(src, dst, dstOffset, length);
  }

  public void write(long gpa, byte[] src, int srcOffset, int length) {
    checkArray(src.length, srcOffset, length);
    long dst = writeAddress(gpa, length);
    MEMORY.copyMemory(src, srcOffset, dst, length);
  }

  @Override
  public void copyTo(long gpa, BytesStore<?, ?> dst, long dstOffset, long length) {
    long src = hostAddress(gpa, length);
    checkStore(dst, dstOffset, length);
    MEMORY.copyMemory(src, dst.addressForWrite(dstOffset), length);
  }

  public void copyFrom(BytesStore<?, ?> src, long srcOffset, long gpa, long length) {
    checkStore(src, srcOffset, length);
    long dst = writeAddress(gpa, length);
    MEMORY.copyMemory(src.addressForRead(srcOffset), dst, length);
  }

  /** Fills [gpa, gpa+length) with {@code value}. */
  public void fill(long gpa, long length, byte value) {
    MEMORY.setMemory(writeAddress(gpa, length), length, value);
  }

  /**
   * A view that exposes only the read accessors of this memory. It is a separate object (it cannot
   * be cast back to {@code GuestMemory}); its regions report {@code isWritable() == false}, its
   * slices are marked read-only, and closing one of its regions frees nothing.
   */
  public ReadableGuestMemory readOnlyView() {
    return readOnlyView;
  }

  private static void checkArray(int arrayLength, int offset, int length) {
    if (offset < 0 || length < 0 || length > arrayLength - offset) {
      throw new IndexOutOfBoundsException(
          "array range [" + offset + ", +" + length + ") outside array of " + arrayLength);
    }
  }

  private static void checkStore(BytesStore<?, ?> store, long offset, long length) {
    if (!store.isDirectMemory()) {
      throw new IllegalArgumentException("store must be off-heap (direct) memory");
    }
    if (offset < 0 || length < 0 || length > store.capacity() - offset) {
      throw new IndexOutOfBoundsException(
          "store range [" + offset + ", +" + length + ") outside store of " + store.capacity());
    }
  }

  private GuestMemoryException outOfRange(long gpa, long length, String why) {
    return new GuestMemoryException(
        String.format("guest access 0x%x+%d %s (mapped: %s)", gpa, length, why, describeRanges()),
        gpa,
        length);
  }

  @Override
  public String describeRanges() {
    List<String> parts = new ArrayList<>(regions.length);
    for (MemoryRegion r : regions) {
      parts.add(r.toString());
    }
    return String.join(", ", parts);
  }

  /** Closes every region: owned memory is freed, wrapped memory is handed back via its unmapper. */
  @Override
  public void close() {
    for (MemoryRegion r : regions) {
      r.close();
    }
  }

  @Override
  public String toString() {
    return "GuestMemory{" + describeRanges() + "}";
  }
}
