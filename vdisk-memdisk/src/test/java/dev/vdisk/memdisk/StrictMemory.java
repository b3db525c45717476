package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemoryException;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.api.MemorySlice;
import dev.vdisk.api.ReadableGuestMemory;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Delegates to a real guest memory and counts every access that {@code GuestMemory} refused. The
 * parsers check ranges before reading, so on any input this count must stay zero: "never reads
 * outside the image" means not even an attempt that the bounds check catches.
 */
final class StrictMemory implements ReadableGuestMemory {
  private final ReadableGuestMemory inner;
  int refused;
  String firstRefusal;

  StrictMemory(ReadableGuestMemory inner) {
    this.inner = inner;
  }

  private GuestMemoryException note(GuestMemoryException e) {
    if (refused++ == 0) {
      firstRefusal = e.getMessage();
    }
    return e;
  }

  @Override
  public int regionCount() {
    return inner.regionCount();
  }

  @Override
  public MemoryRegion region(int index) {
    return inner.region(index);
  }

  @Override
  public int regionIndex(long gpa, long length) {
    return inner.regionIndex(gpa, length);
  }

  @Override
  public MemoryRegion regionFor(long gpa, long length) {
    try {
      return inner.regionFor(gpa, length);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public MemorySlice slice(long gpa, int length) {
    try {
      return inner.slice(gpa, length);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public int u8(long gpa) {
    try {
      return inner.u8(gpa);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public int u16(long gpa) {
    try {
      return inner.u16(gpa);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public long u32(long gpa) {
    try {
      return inner.u32(gpa);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public long u64(long gpa) {
    try {
      return inner.u64(gpa);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public int lvU16(long gpa) {
    try {
      return inner.lvU16(gpa);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public void read(long gpa, byte[] dst, int dstOffset, int length) {
    try {
      inner.read(gpa, dst, dstOffset, length);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public void copyTo(long gpa, BytesStore<?, ?> dst, long dstOffset, long length) {
    try {
      inner.copyTo(gpa, dst, dstOffset, length);
    } catch (GuestMemoryException e) {
      throw note(e);
    }
  }

  @Override
  public String describeRanges() {
    return inner.describeRanges();
  }
}
