package dev.vdisk.virtio;

/** Device-independent feature bits (virtio 1.2 section 6, "Reserved Feature Bits"). */
public final class VirtioFeatures {
  public static final int RING_INDIRECT_DESC = 28;
  public static final int RING_EVENT_IDX = 29;
  public static final int VERSION_1 = 32;
  public static final int ACCESS_PLATFORM = 33;
  public static final int RING_PACKED = 34;
  public static final int IN_ORDER = 35;
  public static final int ORDER_PLATFORM = 36;
  public static final int SR_IOV = 37;
  public static final int NOTIFICATION_DATA = 38;
  public static final int RING_RESET = 40;

  private VirtioFeatures() {}

  public static long bit(int feature) {
    return 1L << feature;
  }

  public static boolean has(long features, int feature) {
    return (features & (1L << feature)) != 0;
  }
}
