package dev.vdisk.backend;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import java.io.IOException;
import java.util.concurrent.CopyOnWriteArrayList;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * A window of another device: bytes [offset, offset+length) of the inner device appear as a disk of
 * their own, starting at 0. This is ImDisk's image offset (skip an image header, or present one
 * partition of a whole-disk image).
 *
 * <p>Offset and length must be multiples of the inner device's block size, so every request the
 * window forwards is as aligned as the one it received. A window opened "to the end" ({@code length
 * == -1}) follows the inner device when it is resized; a window of fixed length keeps its size (if
 * the inner device shrinks under it, requests past the new end fail in the inner device).
 */
public final class WindowDevice extends ForwardingBlockDevice {
  private final long base;
  private final boolean toEnd;
  private final CopyOnWriteArrayList<SizeListener> listeners = new CopyOnWriteArrayList<>();
  private volatile long length;
  private volatile Geometry geometry;

  private WindowDevice(BlockDevice inner, long base, long length, boolean toEnd) {
    super(inner);
    this.base = base;
    this.length = length;
    this.toEnd = toEnd;
    this.geometry = geometryFor(length, inner.blockSize());
    if (toEnd) {
      inner.addSizeListener(this::innerResized);
    }
  }

  /**
   * A window of {@code length} bytes (or -1 for "to the end") starting {@code offset} bytes into
   * {@code inner}, which the window then owns. Throws {@link IllegalArgumentException} naming the
   * value when the window is misaligned, empty, or does not fit inside the device.
   */
  public static WindowDevice of(BlockDevice inner, long offset, long length) {
    int bs = inner.blockSize();
    long innerSize = inner.size();
    if (offset < 0 || offset % bs != 0) {
      throw new IllegalArgumentException(
          "window offset "
              + offset
              + " (expected >= 0 and a multiple of the block size "
              + bs
              + ")");
    }
    if (offset >= innerSize) {
      throw new IllegalArgumentException(
          "window offset " + offset + " (expected < the device size " + innerSize + ")");
    }
    if (length == -1) {
      return new WindowDevice(inner, offset, innerSize - offset, true);
    }
    if (length <= 0 || length % bs != 0) {
      throw new IllegalArgumentException(
          "window length "
              + length
              + " (expected -1 for 'to the end', or > 0 and a multiple of the block size "
              + bs
              + ")");
    }
    if (length > innerSize - offset) {
      throw new IllegalArgumentException(
          "window ["
              + offset
              + ", +"
              + length
              + ") (expected to fit inside the device of "
              + innerSize
              + " bytes)");
    }
    return new WindowDevice(inner, offset, length, false);
  }

  private static Geometry geometryFor(long size, int blockSize) {
    return blockSize == 2048 ? Geometry.forCdrom(size) : Geometry.forHardDisk(size, blockSize);
  }

  private void innerResized(BlockDevice device, long newInnerSize) {
    long newLength = Math.max(0, newInnerSize - base);
    length = newLength;
    geometry = geometryFor(newLength, blockSize());
    for (SizeListener l : listeners) {
      l.sizeChanged(this, newLength);
    }
  }

  /** Where the window starts inside the inner device. */
  public long offset() {
    return base;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public Geometry geometry() {
    return geometry;
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int len) throws IOException {
    Ranges.checkDisk(offset, len, length);
    inner.read(base + offset, dst, dstOffset, len);
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int len) throws IOException {
    Ranges.checkDisk(offset, len, length);
    inner.write(base + offset, src, srcOffset, len);
  }

  @Override
  public void discard(long offset, long len) throws IOException {
    Ranges.checkDisk(offset, len, length);
    inner.discard(base + offset, len);
  }

  @Override
  public void writeZeroes(long offset, long len, boolean mayUnmap) throws IOException {
    Ranges.checkDisk(offset, len, length);
    inner.writeZeroes(base + offset, len, mayUnmap);
  }

  @Override
  public void secureErase(long offset, long len) throws IOException {
    Ranges.checkDisk(offset, len, length);
    inner.secureErase(base + offset, len);
  }

  @Override
  public long extent(long offset, long maxLength) throws IOException {
    long size = length;
    if (offset < 0 || offset >= size || maxLength <= 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "extent query outside the window of " + size + " bytes",
          offset,
          maxLength);
    }
    return inner.extent(base + offset, Math.min(maxLength, size - offset));
  }

  @Override
  public void addSizeListener(SizeListener listener) {
    // A fixed window never changes size; a window to the end reports the inner device's changes.
    listeners.add(listener);
  }

  @Override
  public String toString() {
    return "WindowDevice{[" + base + ", +" + length + ") of " + inner + "}";
  }
}
