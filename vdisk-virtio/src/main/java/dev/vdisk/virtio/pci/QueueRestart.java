package dev.vdisk.virtio.pci;

import dev.vdisk.virtio.QueueSetup;

/**
 * Optional addition to {@link dev.vdisk.virtio.VirtioDevice} that lets a device take one queue back
 * after a per-queue reset (virtio 1.2 §2.6.1, VIRTIO_F_RING_RESET). The shared device contract can
 * stop a queue ({@link dev.vdisk.virtio.VirtioDevice#stopQueue}) but has no way to restart one
 * while the others keep running, so the transport offers RING_RESET only when the device implements
 * this interface; otherwise it clears the bit from the features it presents.
 */
public interface QueueRestart {

  /**
   * The driver re-enabled a queue it had reset, possibly with a different size and addresses.
   * Called after {@link dev.vdisk.virtio.VirtioDevice#stopQueue} for the same queue, while the
   * device is active.
   */
  void restartQueue(QueueSetup queue);
}
