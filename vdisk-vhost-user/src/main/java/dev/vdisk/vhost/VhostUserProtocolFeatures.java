package dev.vdisk.vhost;

/** Protocol feature bits (GET/SET_PROTOCOL_FEATURES) and the virtio-level bit that enables them. */
public final class VhostUserProtocolFeatures {
  /** Virtio feature bit 30: the backend understands GET/SET_PROTOCOL_FEATURES. */
  public static final int F_PROTOCOL_FEATURES = 30;

  public static final int MQ = 0;
  public static final int LOG_SHMFD = 1;
  public static final int RARP = 2;
  public static final int REPLY_ACK = 3;
  public static final int MTU = 4;
  public static final int BACKEND_REQ = 5;
  public static final int CROSS_ENDIAN = 6;
  public static final int CRYPTO_SESSION = 7;
  public static final int PAGEFAULT = 8;
  public static final int CONFIG = 9;
  public static final int BACKEND_SEND_FD = 10;
  public static final int HOST_NOTIFIER = 11;
  public static final int INFLIGHT_SHMFD = 12;
  public static final int RESET_DEVICE = 13;
  public static final int INBAND_NOTIFICATIONS = 14;
  public static final int CONFIGURE_MEM_SLOTS = 15;
  public static final int STATUS = 16;

  private VhostUserProtocolFeatures() {}

  public static long bit(int feature) {
    return 1L << feature;
  }

  public static boolean has(long features, int feature) {
    return (features & (1L << feature)) != 0;
  }
}
