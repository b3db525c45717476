package dev.vdisk.virtio.pci;

/**
 * Layout of the virtio vendor capability ({@code struct virtio_pci_cap}, virtio 1.2 §4.1.4) and its
 * variants, and of the MSI-X capability (PCI 3.0 §6.8.2).
 *
 * <pre>
 *  virtio_pci_cap (16 bytes)                 notify cap (+4) / pci_cfg cap (+4)
 *   +0 cap_vndr 0x09   +1 cap_next            +16 notify_off_multiplier (le32)
 *   +2 cap_len         +3 cfg_type            +16 pci_cfg_data[4]
 *   +4 bar             +5 id    +6 padding(2)
 *   +8 offset (le32)  +12 length (le32)
 *
 *  MSI-X capability (12 bytes)
 *   +0 cap id 0x11     +1 next   +2 message control (le16: bits 10:0 table size-1,
 *                                   bit 14 function mask, bit 15 enable)
 *   +4 table offset | BIR (le32)   +8 PBA offset | BIR (le32)
 * </pre>
 */
public final class VirtioPciCap {
  public static final int CAP_VNDR = 0;
  public static final int CAP_NEXT = 1;
  public static final int CAP_LEN = 2;
  public static final int CFG_TYPE = 3;
  public static final int BAR = 4;
  public static final int ID = 5;
  public static final int OFFSET = 8;
  public static final int LENGTH = 12;

  /** Size of the plain virtio capability. */
  public static final int SIZE = 16;

  /** Notify cap: {@code notify_off_multiplier} field. */
  public static final int NOTIFY_OFF_MULTIPLIER = 16;

  /** Notify cap size. */
  public static final int NOTIFY_SIZE = 20;

  /** PCI_CFG cap: the data window. */
  public static final int PCI_CFG_DATA = 16;

  /** PCI_CFG cap size. */
  public static final int PCI_CFG_SIZE = 20;

  public static final int TYPE_COMMON_CFG = 1;
  public static final int TYPE_NOTIFY_CFG = 2;
  public static final int TYPE_ISR_CFG = 3;
  public static final int TYPE_DEVICE_CFG = 4;
  public static final int TYPE_PCI_CFG = 5;

  public static final int MSIX_MESSAGE_CONTROL = 2;
  public static final int MSIX_TABLE = 4;
  public static final int MSIX_PBA = 8;
  public static final int MSIX_SIZE = 12;
  public static final int MSIX_TABLE_SIZE_MASK = 0x7FF;
  public static final int MSIX_FUNCTION_MASK = 1 << 14;
  public static final int MSIX_ENABLE = 1 << 15;

  /** Table entry: message address low/high, data, vector control (bit 0 = masked). */
  public static final int MSIX_ENTRY_SIZE = 16;

  public static final int MSIX_ENTRY_VECTOR_CONTROL = 12;
  public static final int MSIX_VECTOR_MASKED = 1;

  private VirtioPciCap() {}
}
