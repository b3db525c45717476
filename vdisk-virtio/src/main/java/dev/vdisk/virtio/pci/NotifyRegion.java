package dev.vdisk.virtio.pci;

/**
 * Where the driver rings the queues' doorbells, for a VMM that wires an ioeventfd-style fast path:
 * queue {@code q}'s doorbell is the 2- or 4-byte write at {@code barBase + offset + q *
 * multiplier}; the VMM may then call {@link VirtioPciDevice#notifyQueue(int)} directly instead of
 * {@link VirtioPciDevice#barWrite}. The written value carries no information the transport needs
 * (the address names the queue, as in QEMU).
 *
 * @param bar BAR index holding the notify structure
 * @param offset notify structure offset within the BAR
 * @param length notify structure length in bytes
 * @param multiplier {@code notify_off_multiplier}
 * @param queues number of queues (doorbells)
 */
public record NotifyRegion(int bar, int offset, int length, int multiplier, int queues) {

  /** Offset within the BAR of queue {@code queue}'s doorbell. */
  public long queueOffset(int queue) {
    return offset + (long) queue * multiplier;
  }
}
