package dev.vdisk.virtio.queue;

/**
 * The driver described a queue the device cannot use (size not a power of two, rings misaligned or
 * outside guest memory). Thrown only at activation, never on the request path; the device turns it
 * into DEVICE_NEEDS_RESET (vdisk spec section 3.1: QEMU "Cannot map desc/avail/used").
 */
public final class QueueSetupException extends Exception {
  private static final long serialVersionUID = 1L;

  public QueueSetupException(String message) {
    super(message);
  }
}
