package dev.vdisk.backend;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * A read-only view of a device: reads pass through, every write-side operation (write, discard,
 * write-zeroes, secure erase) fails with reason {@code READ_ONLY} before reaching the device, and
 * flush succeeds without doing anything (nothing can be dirty through this view).
 */
public final class ReadOnlyDevice extends ForwardingBlockDevice {

  private ReadOnlyDevice(BlockDevice inner) {
    super(inner);
  }

  /** Wraps {@code device} (which this view then owns); a device already read-only is returned. */
  public static BlockDevice of(BlockDevice device) {
    return device.isReadOnly() ? device : new ReadOnlyDevice(device);
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public BlockCapabilities capabilities() {
    return inner.capabilities().readOnly();
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    throw refused("write", offset, length);
  }

  @Override
  public void flush() {}

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    throw refused("discard", offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    throw refused("write-zeroes", offset, length);
  }

  @Override
  public void secureErase(long offset, long length) throws BlockDeviceException {
    throw refused("secure erase", offset, length);
  }

  private static BlockDeviceException refused(String op, long offset, long length) {
    return new BlockDeviceException(
        Reason.READ_ONLY, op + " refused: the device is read-only", offset, length);
  }
}
