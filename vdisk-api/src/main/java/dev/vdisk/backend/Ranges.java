package dev.vdisk.backend;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * The two range checks every backend makes before touching memory: the disk range against the
 * device size, and the memory range against the store it names. Both are overflow-safe and throw
 * {@link BlockDeviceException} with reason {@code OUT_OF_RANGE}, so a bad request is a status for
 * the front end and never a touch outside either range.
 */
public final class Ranges {
  private Ranges() {}

  /** Checks that [offset, offset+length) lies inside a disk of {@code size} bytes. */
  public static void checkDisk(long offset, long length, long size) throws BlockDeviceException {
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw outsideDisk(offset, length, size);
    }
  }

  /**
   * Checks that [offset, offset+length) lies inside the disk and that both ends are multiples of
   * {@code alignment} (a power of two).
   */
  public static void checkDiskAligned(long offset, long length, long size, int alignment)
      throws BlockDeviceException {
    checkDisk(offset, length, size);
    if (((offset | length) & (alignment - 1)) != 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "range not aligned to " + alignment + " bytes (expected multiples of " + alignment + ")",
          offset,
          length);
    }
  }

  private static BlockDeviceException outsideDisk(long offset, long length, long size) {
    return new BlockDeviceException(
        Reason.OUT_OF_RANGE,
        "range outside the disk of "
            + size
            + " bytes (expected 0 <= offset <= offset+length <= size)",
        offset,
        length);
  }

  /**
   * Host address of [storeOffset, storeOffset+length) in an off-heap store, after checking that the
   * range lies inside it ({@code 0} for an empty range). {@code diskOffset} only goes into the
   * error.
   */
  public static long storeAddress(
      BytesStore<?, ?> store, long storeOffset, long length, long diskOffset)
      throws BlockDeviceException {
    if (store == null || !store.isDirectMemory()) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory " + store + " is not off-heap (expected a native BytesStore)",
          diskOffset,
          length);
    }
    long capacity = store.capacity();
    if (storeOffset < 0
        || length < 0
        || storeOffset > capacity
        || length > capacity - storeOffset) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory range ["
              + storeOffset
              + ", +"
              + length
              + ") outside its store of "
              + capacity
              + " bytes",
          diskOffset,
          length);
    }
    // An empty range has no address to speak of (and Chronicle refuses one at the very end of a
    // store); callers move nothing for it.
    return length == 0 ? 0 : store.addressForRead(storeOffset);
  }
}
