package dev.vdisk.virtio.pci;

/**
 * Offsets of {@code struct virtio_pci_common_cfg} (virtio 1.2 §4.1.4.3, 1.3 additions), and the
 * device status bits (§2.1).
 *
 * <pre>
 *  0x00 device_feature_select le32   0x04 device_feature le32 (RO)
 *  0x08 driver_feature_select le32   0x0C driver_feature le32
 *  0x10 config_msix_vector le16      0x12 num_queues le16 (RO)
 *  0x14 device_status u8             0x15 config_generation u8 (RO)
 *  0x16 queue_select le16            0x18 queue_size le16
 *  0x1A queue_msix_vector le16       0x1C queue_enable le16
 *  0x1E queue_notify_off le16 (RO)   0x20 queue_desc le64
 *  0x28 queue_driver le64            0x30 queue_device le64
 *  0x38 queue_notif_config_data le16 (RO)  0x3A queue_reset le16
 *  0x3C admin_queue_index le16 (RO)  0x3E admin_queue_num le16 (RO)
 * </pre>
 */
public final class CommonCfg {
  public static final int DEVICE_FEATURE_SELECT = 0x00;
  public static final int DEVICE_FEATURE = 0x04;
  public static final int DRIVER_FEATURE_SELECT = 0x08;
  public static final int DRIVER_FEATURE = 0x0C;
  public static final int CONFIG_MSIX_VECTOR = 0x10;
  public static final int NUM_QUEUES = 0x12;
  public static final int DEVICE_STATUS = 0x14;
  public static final int CONFIG_GENERATION = 0x15;
  public static final int QUEUE_SELECT = 0x16;
  public static final int QUEUE_SIZE = 0x18;
  public static final int QUEUE_MSIX_VECTOR = 0x1A;
  public static final int QUEUE_ENABLE = 0x1C;
  public static final int QUEUE_NOTIFY_OFF = 0x1E;
  public static final int QUEUE_DESC = 0x20;
  public static final int QUEUE_DRIVER = 0x28;
  public static final int QUEUE_DEVICE = 0x30;
  public static final int QUEUE_NOTIF_CONFIG_DATA = 0x38;
  public static final int QUEUE_RESET = 0x3A;
  public static final int ADMIN_QUEUE_INDEX = 0x3C;
  public static final int ADMIN_QUEUE_NUM = 0x3E;

  /** Size of the structure as of virtio 1.3. */
  public static final int SIZE = 0x40;

  /** "No MSI-X vector" in config_msix_vector / queue_msix_vector. */
  public static final int NO_VECTOR = 0xFFFF;

  public static final int STATUS_ACKNOWLEDGE = 1;
  public static final int STATUS_DRIVER = 2;
  public static final int STATUS_DRIVER_OK = 4;
  public static final int STATUS_FEATURES_OK = 8;
  public static final int STATUS_SUSPEND = 16;
  public static final int STATUS_NEEDS_RESET = 64;
  public static final int STATUS_FAILED = 128;

  private CommonCfg() {}

  /**
   * Width in bytes of the field starting at {@code offset}, 0 when no field starts there. 64-bit
   * fields report 8 (they may also be accessed as two 4-byte halves).
   */
  public static int fieldWidth(int offset) {
    switch (offset) {
      case DEVICE_FEATURE_SELECT:
      case DEVICE_FEATURE:
      case DRIVER_FEATURE_SELECT:
      case DRIVER_FEATURE:
        return 4;
      case DEVICE_STATUS:
      case CONFIG_GENERATION:
        return 1;
      case QUEUE_DESC:
      case QUEUE_DRIVER:
      case QUEUE_DEVICE:
        return 8;
      case CONFIG_MSIX_VECTOR:
      case NUM_QUEUES:
      case QUEUE_SELECT:
      case QUEUE_SIZE:
      case QUEUE_MSIX_VECTOR:
      case QUEUE_ENABLE:
      case QUEUE_NOTIFY_OFF:
      case QUEUE_NOTIF_CONFIG_DATA:
      case QUEUE_RESET:
      case ADMIN_QUEUE_INDEX:
      case ADMIN_QUEUE_NUM:
        return 2;
      default:
        return 0;
    }
  }

  /** Start of the field that contains byte {@code offset} (offset < SIZE). */
  static int fieldStart(int offset) {
    if (offset >= QUEUE_DESC && offset < QUEUE_NOTIF_CONFIG_DATA) {
      return offset & ~7;
    }
    if (offset < CONFIG_MSIX_VECTOR) {
      return offset & ~3;
    }
    if (offset == DEVICE_STATUS || offset == CONFIG_GENERATION) {
      return offset;
    }
    return offset & ~1;
  }

  /**
   * True when an access of {@code size} bytes at {@code offset} is one the spec allows: the exact
   * field, or one aligned 32-bit half of a 64-bit field.
   */
  static boolean isValidAccess(int offset, int size) {
    int w = fieldWidth(offset);
    if (w == size) {
      return true;
    }
    if (size == 4) {
      int start = offset & ~7;
      return fieldWidth(start) == 8 && (offset & 7) == 4 || w == 8;
    }
    return false;
  }
}
