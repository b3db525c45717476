package dev.vdisk.api;

import java.io.IOException;

/** A block operation that failed, with the reason a front end maps to its own status codes. */
public class BlockDeviceException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * Why an operation failed; front ends map UNSUPPORTED to "unsupported" and the rest to I/O error.
   */
  public enum Reason {
    /** The backend failed (I/O error, remote error, lost connection after retries). */
    IO_ERROR,
    /** The operation is not supported by this device. */
    UNSUPPORTED,
    /** A write-side operation on a read-only device. */
    READ_ONLY,
    /** The range is outside the device or misaligned. */
    OUT_OF_RANGE,
    /** A remote backend did not answer in time. */
    TIMEOUT
  }

  private final Reason reason;
  private final long offset;
  private final long length;

  public BlockDeviceException(Reason reason, String message, long offset, long length) {
    super(message + " (" + reason + ", offset " + offset + ", length " + length + ")");
    this.reason = reason;
    this.offset = offset;
    this.length = length;
  }

  public BlockDeviceException(
      Reason reason, String message, long offset, long length, Throwable cause) {
    super(message + " (" + reason + ", offset " + offset + ", length " + length + ")", cause);
    this.reason = reason;
    this.offset = offset;
    this.length = length;
  }

  public Reason reason() {
    return reason;
  }

  public long offset() {
    return offset;
  }

  public long length() {
    return length;
  }
}
