package dev.vdisk.virtio;

/**
 * How a device reaches its driver. The transport implements it: virtio-pci turns {@link
 * #usedBuffers} into an MSI-X message or an INTx level with the ISR bit, vhost-user into a write to
 * the queue's call eventfd. The device calls {@link #usedBuffers} only after deciding an interrupt
 * is due (EVENT_IDX or VIRTQ_AVAIL_F_NO_INTERRUPT suppression happens in the device's queue).
 * Implementations must be callable from any thread and must not block.
 */
public interface DeviceNotifier {

  /** New used buffers on {@code queue} that the driver wants to hear about. */
  void usedBuffers(int queue);

  /** The device configuration changed (e.g. capacity after a resize). */
  void configChanged();

  /**
   * The driver broke a rule the device cannot recover from on its own (virtio's
   * DEVICE_NEEDS_RESET): the transport sets the status bit and raises a config interrupt.
   */
  void needsReset(String reason);
}
