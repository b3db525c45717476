package dev.vdisk.qemu;

/** A SYNC_SYSMEM the remote refuses; the previous guest-RAM map stays in force. */
final class SysmemException extends Exception {
  private static final long serialVersionUID = 1L;

  SysmemException(String message) {
    super(message);
  }

  SysmemException(String message, Throwable cause) {
    super(message, cause);
  }
}
