package dev.vdisk.api;

import java.time.Duration;
import java.util.Objects;

/**
 * How to open a disk by URI.
 *
 * @param readOnly open without write access and refuse every write-side operation
 * @param offset start of the window inside the disk, in bytes (0: from the start)
 * @param length window length in bytes, or -1 for "to the end of the disk"
 * @param byteSwap swap the bytes of every 16-bit word on the way in and out (ImDisk's option)
 * @param createSize for file disks: create a new sparse image of this many bytes, or -1
 * @param blockSize logical block size to present, or 0 for the backend's own
 * @param timeout per-request timeout of remote backends
 */
public record OpenOptions(
    boolean readOnly,
    long offset,
    long length,
    boolean byteSwap,
    long createSize,
    int blockSize,
    Duration timeout) {

  public static final OpenOptions DEFAULTS =
      new OpenOptions(false, 0, -1, false, -1, 0, Duration.ofSeconds(30));

  public OpenOptions {
    Objects.requireNonNull(timeout, "timeout");
    if (offset < 0) {
      throw new IllegalArgumentException("offset " + offset + " (expected >= 0)");
    }
    if (length < -1 || length == 0) {
      throw new IllegalArgumentException("length " + length + " (expected > 0, or -1 for all)");
    }
    if (createSize < -1 || createSize == 0) {
      throw new IllegalArgumentException("createSize " + createSize + " (expected > 0, or -1)");
    }
    if (blockSize != 0 && blockSize != 512 && blockSize != 2048 && blockSize != 4096) {
      throw new IllegalArgumentException(
          "block size " + blockSize + " (expected 512, 2048, 4096, or 0 for the backend's)");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout " + timeout + " (expected > 0)");
    }
  }

  public OpenOptions withReadOnly(boolean value) {
    return new OpenOptions(value, offset, length, byteSwap, createSize, blockSize, timeout);
  }

  public OpenOptions withWindow(long newOffset, long newLength) {
    return new OpenOptions(
        readOnly, newOffset, newLength, byteSwap, createSize, blockSize, timeout);
  }

  public OpenOptions withByteSwap(boolean value) {
    return new OpenOptions(readOnly, offset, length, value, createSize, blockSize, timeout);
  }

  public OpenOptions withCreateSize(long value) {
    return new OpenOptions(readOnly, offset, length, byteSwap, value, blockSize, timeout);
  }

  public OpenOptions withBlockSize(int value) {
    return new OpenOptions(readOnly, offset, length, byteSwap, createSize, value, timeout);
  }

  public OpenOptions withTimeout(Duration value) {
    return new OpenOptions(readOnly, offset, length, byteSwap, createSize, blockSize, value);
  }
}
