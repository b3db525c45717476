package dev.vdisk.qemu;

import java.io.IOException;

/** QEMU answered a QMP command with an error (its {@code desc} is the message). */
public final class QmpException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String errorClass;

  public QmpException(String command, String errorClass, String desc) {
    super("QEMU refused " + command + ": " + desc);
    this.errorClass = errorClass;
  }

  /** QMP's error class, e.g. {@code GenericError} or {@code DeviceNotFound}. */
  public String errorClass() {
    return errorClass;
  }
}
