package dev.vdisk.vhost;

/**
 * The front end broke the vhost-user protocol (malformed, unknown or out-of-order message, bad
 * memory table or vring, wrong descriptors). The connection is closed; the server keeps serving.
 * The message is one line naming the message and the bad value.
 */
public final class VhostUserProtocolException extends Exception {
  private static final long serialVersionUID = 1L;

  public VhostUserProtocolException(String message) {
    super(message);
  }

  public VhostUserProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
