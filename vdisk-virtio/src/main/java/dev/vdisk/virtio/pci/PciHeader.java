package dev.vdisk.virtio.pci;

/**
 * Offsets and bits of the type-0 PCI configuration header (PCI Local Bus 3.0 §6.1), as both the
 * device model and the driver model use them.
 *
 * <pre>
 *  0x00 vendor id (2)       0x02 device id (2)     0x04 command (2)      0x06 status (2)
 *  0x08 revision (1)        0x09 prog-if (1)       0x0A subclass (1)     0x0B base class (1)
 *  0x0C cache line (1)      0x0D latency (1)       0x0E header type (1)  0x0F BIST (1)
 *  0x10..0x27 BAR0..BAR5 (4 each)                  0x28 CardBus CIS (4)
 *  0x2C subsystem vendor (2) 0x2E subsystem id (2) 0x30 expansion ROM (4)
 *  0x34 capabilities pointer (1)                   0x3C interrupt line (1) 0x3D interrupt pin (1)
 *  0x40..0xFF capabilities
 * </pre>
 */
public final class PciHeader {
  public static final int VENDOR_ID = 0x00;
  public static final int DEVICE_ID = 0x02;
  public static final int COMMAND = 0x04;
  public static final int STATUS = 0x06;
  public static final int REVISION_ID = 0x08;
  public static final int PROG_IF = 0x09;
  public static final int SUBCLASS = 0x0A;
  public static final int CLASS_CODE = 0x0B;
  public static final int CACHE_LINE_SIZE = 0x0C;
  public static final int LATENCY_TIMER = 0x0D;
  public static final int HEADER_TYPE = 0x0E;
  public static final int BIST = 0x0F;
  public static final int BAR0 = 0x10;
  public static final int BAR_COUNT = 6;
  public static final int CARDBUS_CIS = 0x28;
  public static final int SUBSYSTEM_VENDOR_ID = 0x2C;
  public static final int SUBSYSTEM_ID = 0x2E;
  public static final int EXPANSION_ROM = 0x30;
  public static final int CAPABILITIES_POINTER = 0x34;
  public static final int INTERRUPT_LINE = 0x3C;
  public static final int INTERRUPT_PIN = 0x3D;

  /** First byte capabilities may use. */
  public static final int CAPABILITIES_START = 0x40;

  /** Size of conventional PCI configuration space. */
  public static final int CONFIG_SPACE_SIZE = 0x100;

  /** Size of PCI Express extended configuration space (reads 0 here: no extended caps). */
  public static final int EXTENDED_CONFIG_SPACE_SIZE = 0x1000;

  /** Command bit 0: I/O space decode (hard-wired 0: the function has no I/O BAR). */
  public static final int COMMAND_IO = 1;

  /** Command bit 1: memory space decode. */
  public static final int COMMAND_MEMORY = 1 << 1;

  /** Command bit 2: bus master (the device may read and write guest memory, send MSI). */
  public static final int COMMAND_BUS_MASTER = 1 << 2;

  /** Command bit 6: parity error response (stored, no effect). */
  public static final int COMMAND_PARITY = 1 << 6;

  /** Command bit 8: SERR# enable (stored, no effect). */
  public static final int COMMAND_SERR = 1 << 8;

  /** Command bit 10: INTx disable (gates the INTx line; the internal state is kept). */
  public static final int COMMAND_INTX_DISABLE = 1 << 10;

  /** Status bit 3: interrupt status (INTx would be asserted, read-only). */
  public static final int STATUS_INTERRUPT = 1 << 3;

  /** Status bit 4: capability list present. */
  public static final int STATUS_CAP_LIST = 1 << 4;

  /** BAR low bit 0: 1 for I/O BARs. */
  public static final int BAR_IO = 1;

  /** BAR memory type field (bits 2:1) value for a 64-bit BAR. */
  public static final int BAR_MEM_TYPE_64 = 0b100;

  /** BAR bit 3: prefetchable. */
  public static final int BAR_PREFETCHABLE = 0b1000;

  /** Address bits of a memory BAR's low dword. */
  public static final int BAR_MEM_ADDRESS_MASK = ~0xF;

  /** PCI capability IDs used here. */
  public static final int CAP_ID_VENDOR = 0x09;

  public static final int CAP_ID_MSIX = 0x11;

  private PciHeader() {}

  /** Config offset of BAR {@code index}. */
  public static int barOffset(int index) {
    return BAR0 + 4 * index;
  }
}
