package dev.vdisk.api;

import java.io.Closeable;
import java.io.IOException;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * The backend SPI: a disk of {@link #size()} bytes addressed by byte offset.
 *
 * <p>Data moves directly between the backend and off-heap memory (normally a guest memory region's
 * store, at an offset {@link GuestMemory} has already bounds-checked) with no heap copy in between.
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li>Offsets and lengths passed by vdisk's front ends are multiples of {@link #blockSize()} and
 *       lie inside [0, size()); implementations still check and throw {@link BlockDeviceException}
 *       with reason {@code OUT_OF_RANGE} rather than touch anything outside.
 *   <li>Calls are synchronous and may block. A front end calls one device from several threads at
 *       once (one per queue), so implementations are thread-safe; a slow call stalls only the queue
 *       that made it. Backends that can keep many requests in flight (network disks) also implement
 *       {@link AsyncBlockDevice}.
 *   <li>A write that returned is visible to every later read; it is durable only after {@link
 *       #flush()} returns (unless the device has no volatile cache).
 *   <li>Operations a device does not support (see {@link #capabilities()}) throw {@link
 *       BlockDeviceException} with reason {@code UNSUPPORTED}; writes to a read-only device throw
 *       with reason {@code READ_ONLY}.
 * </ul>
 */
public interface BlockDevice extends Closeable {

  /** Size in bytes; a multiple of {@link #blockSize()}. */
  long size();

  /** Logical block size in bytes: 512 (default), 2048 (CD-style) or 4096. */
  int blockSize();

  boolean isReadOnly();

  BlockCapabilities capabilities();

  /** Geometry the device presents (derived from the size when the backend has none of its own). */
  Geometry geometry();

  /** Reads {@code length} bytes at {@code offset} into {@code dst} at {@code dstOffset}. */
  void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length) throws IOException;

  /** Writes {@code length} bytes from {@code src} at {@code srcOffset} to {@code offset}. */
  void write(long offset, BytesStore<?, ?> src, long srcOffset, int length) throws IOException;

  /** Makes every completed write durable. */
  void flush() throws IOException;

  /** Tells the device the range's contents are no longer needed (reads may then return zeroes). */
  void discard(long offset, long length) throws IOException;

  /**
   * Makes the range read as zeroes. With {@code mayUnmap} the device may release the storage
   * instead of writing zeroes (virtio-blk's WRITE_ZEROES with the UNMAP flag).
   */
  void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException;

  /** Erases the range so the old data cannot be recovered (reads then return zeroes). */
  default void secureErase(long offset, long length) throws IOException {
    throw new BlockDeviceException(
        BlockDeviceException.Reason.UNSUPPORTED, "secure erase not supported", offset, length);
  }

  /**
   * Allocation status of the run starting at {@code offset}: returns the length (at most {@code
   * maxLength}, at least one block when {@code maxLength} is) of the run whose bytes share one
   * state, positive when the run holds data and negative when it is a hole that reads as zeroes.
   * The default reports everything as data. Used for NBD block status and hole-skipping copies.
   */
  default long extent(long offset, long maxLength) throws IOException {
    return maxLength;
  }

  /** Registers a listener told when the device's size changes at run time (e.g. resize). */
  default void addSizeListener(SizeListener listener) {}

  @Override
  void close() throws IOException;

  /** Told when a device's size changes. */
  @FunctionalInterface
  interface SizeListener {
    void sizeChanged(BlockDevice device, long newSize);
  }
}
