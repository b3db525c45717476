package dev.vdisk.remote.nbd;

import java.io.IOException;

/** The peer broke the NBD protocol; the stream can no longer be trusted and is dropped. */
public final class NbdProtocolException extends IOException {
  private static final long serialVersionUID = 1L;

  public NbdProtocolException(String message) {
    super(message);
  }
}
