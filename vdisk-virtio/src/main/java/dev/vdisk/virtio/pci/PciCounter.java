package dev.vdisk.virtio.pci;

/**
 * One counter per class of bad input or notable event the transport handles. Every guest mistake
 * moves exactly one of these and is otherwise ignored or turned into DEVICE_NEEDS_RESET; nothing
 * throws into the VMM. {@code BAD_INPUT-pci.md} lists the action taken for each.
 */
public enum PciCounter {
  // --- PCI configuration space ---
  /** Config access of a width other than 1/2/4, unaligned, or beyond 4 KiB. */
  CONFIG_BAD_ACCESS(true),
  /** Config write that touched only read-only registers (IDs, class, status, capabilities). */
  CONFIG_READ_ONLY_WRITE(true),
  /** Access through the PCI_CFG capability window with a bad bar/offset/length. */
  PCI_CFG_BAD_ACCESS(true),

  // --- BAR accesses ---
  /** BAR access of a width other than 1/2/4/8. */
  BAR_BAD_WIDTH(true),
  /** BAR access to a BAR index the function does not implement, or beyond the BAR's size. */
  BAR_OUT_OF_RANGE(true),
  /** BAR access while Command.Memory Space is off (real hardware would not decode it). */
  BAR_DECODE_DISABLED(true),
  /** BAR access inside the BAR but outside every structure (a gap: reads 0, writes ignored). */
  BAR_GAP_ACCESS(true),
  /** Register access of a width or alignment the spec does not allow for that field. */
  REGISTER_BAD_ACCESS(true),
  /** Write to a read-only register (device_feature, num_queues, ISR, PBA, ...). */
  REGISTER_READ_ONLY_WRITE(true),
  /** MMIO address that falls in no programmed BAR. */
  MMIO_UNCLAIMED(true),

  // --- common configuration ---
  /** driver_feature write while the select is beyond the two defined windows. */
  FEATURE_SELECT_OUT_OF_RANGE(true),
  /** driver_feature write after FEATURES_OK. */
  FEATURES_AFTER_FEATURES_OK(true),
  /** FEATURES_OK refused: not a subset of the offered set, no VERSION_1, or device refusal. */
  FEATURES_REJECTED(true),
  /** device_status write that tried to clear bits without writing 0. */
  STATUS_BITS_CLEARED(true),
  /** device_status write of a bit the transport does not support (SUSPEND, reserved). */
  STATUS_UNSUPPORTED_BIT(true),
  /** Queue register access while queue_select names no queue. */
  QUEUE_SELECT_OUT_OF_RANGE(true),
  /** queue_size write that is 0, not a power of two, or above the maximum. */
  QUEUE_SIZE_INVALID(true),
  /** Write to size/address registers of a queue that is enabled. */
  QUEUE_WRITE_WHILE_ENABLED(true),
  /** queue_enable write of a value other than 1. */
  QUEUE_ENABLE_INVALID_VALUE(true),
  /** queue_enable = 1 with misaligned or unmapped rings, or before FEATURES_OK (NEEDS_RESET). */
  QUEUE_ENABLE_BAD_RINGS(true),
  /** queue_enable after DRIVER_OK for a queue that was not reset through queue_reset. */
  QUEUE_ENABLE_AFTER_DRIVER_OK(true),
  /** queue_reset write without RING_RESET negotiated, or of a value other than 1. */
  QUEUE_RESET_INVALID(true),
  /** MSI-X vector write beyond the table (stored as NO_VECTOR). */
  MSIX_VECTOR_OUT_OF_RANGE(true),

  // --- notifications ---
  /** Notify write at an offset that is no queue's doorbell, or of width other than 2/4. */
  NOTIFY_BAD_ACCESS(true),
  /** Notify for a queue that is not enabled, or before the device is live. */
  NOTIFY_NOT_LIVE(true),
  /** Notify while the device needs reset (or the driver set FAILED). */
  NOTIFY_WHILE_BROKEN(true),
  /** Notify while Command.Bus Master is off: the device may not touch guest memory. */
  NOTIFY_BUS_MASTER_OFF(true),
  /** Notification handed to the device. */
  NOTIFY_DELIVERED(false),

  // --- interrupts ---
  /** ISR read of a width other than 1, or at a non-zero offset (no read-to-clear). */
  ISR_BAD_READ(true),
  /** MSI-X event whose vector is NO_VECTOR or beyond the table: spec says no interrupt. */
  INTERRUPT_NO_VECTOR(false),
  /** MSI-X message not sent because Command.Bus Master is off. */
  INTERRUPT_BUS_MASTER_OFF(false),
  /** MSI-X message held as pending because its vector or the function was masked. */
  INTERRUPT_MASKED(false),
  /** MSI-X message sent. */
  MSI_SENT(false),
  /** Pending MSI-X message sent on unmask. */
  MSI_SENT_FROM_PBA(false),
  /** INTx line asserted (edges, not events). */
  INTX_ASSERTED(false),
  /** Used-buffer notification from the device. */
  QUEUE_INTERRUPTS(false),
  /** Configuration-change notification (device config changed, or NEEDS_RESET). */
  CONFIG_INTERRUPTS(false),
  /** The device reported a configuration change (aerovblk's CapacityChangeEvents, device side). */
  CONFIG_CHANGES(false),

  // --- lifecycle ---
  /** Device reset by a write of 0 to device_status. */
  RESETS(false),
  /** Function-level reset by the VMM. */
  FUNCTION_RESETS(false),
  /** DRIVER_OK reached and the device activated. */
  ACTIVATIONS(false),
  /** DRIVER_OK without FEATURES_OK (NEEDS_RESET). */
  DRIVER_OK_WITHOUT_FEATURES_OK(true),
  /** DEVICE_NEEDS_RESET set (by the transport or at the device's request). */
  NEEDS_RESET(true),
  /** The device signalled a queue index that does not exist (a device bug): dropped. */
  DEVICE_BAD_QUEUE_INDEX(false),
  /** The device threw into the transport (a device bug): caught, NEEDS_RESET. */
  DEVICE_EXCEPTION(true);

  private final boolean guestError;

  PciCounter(boolean guestError) {
    this.guestError = guestError;
  }

  /** True for counters that count a rule the guest (or VMM) broke, false for plain events. */
  public boolean isGuestError() {
    return guestError;
  }
}
