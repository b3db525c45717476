package dev.vdisk.virtio.driver;

/**
 * The driver model refused the function or failed to bring it up, the way a real driver's probe
 * returns an error: wrong identity, a capability layout it cannot use, FEATURES_OK not accepted.
 * The message names what was found and what was expected.
 */
public final class DriverRefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DriverRefusedException(String message) {
    super(message);
  }
}
