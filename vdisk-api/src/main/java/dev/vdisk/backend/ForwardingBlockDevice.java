package dev.vdisk.backend;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.Geometry;
import java.io.IOException;
import java.util.Objects;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * A {@link BlockDevice} that passes every call to another one; wrappers override what they change.
 * The wrapper owns the device it wraps: closing the wrapper closes it.
 */
public abstract class ForwardingBlockDevice implements BlockDevice {
  /** The wrapped device. */
  protected final BlockDevice inner;

  protected ForwardingBlockDevice(BlockDevice inner) {
    this.inner = Objects.requireNonNull(inner, "inner device");
  }

  /** The wrapped device. */
  public BlockDevice inner() {
    return inner;
  }

  @Override
  public long size() {
    return inner.size();
  }

  @Override
  public int blockSize() {
    return inner.blockSize();
  }

  @Override
  public boolean isReadOnly() {
    return inner.isReadOnly();
  }

  @Override
  public BlockCapabilities capabilities() {
    return inner.capabilities();
  }

  @Override
  public Geometry geometry() {
    return inner.geometry();
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws IOException {
    inner.read(offset, dst, dstOffset, length);
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws IOException {
    inner.write(offset, src, srcOffset, length);
  }

  @Override
  public void flush() throws IOException {
    inner.flush();
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    inner.discard(offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    inner.writeZeroes(offset, length, mayUnmap);
  }

  @Override
  public void secureErase(long offset, long length) throws IOException {
    inner.secureErase(offset, length);
  }

  @Override
  public long extent(long offset, long maxLength) throws IOException {
    return inner.extent(offset, maxLength);
  }

  @Override
  public void addSizeListener(SizeListener listener) {
    inner.addSizeListener((device, newSize) -> listener.sizeChanged(this, newSize));
  }

  @Override
  public void close() throws IOException {
    inner.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "{" + inner + "}";
  }
}
