package dev.vdisk.virtio.queue;

/**
 * One constant per virtqueue rule a driver can break, each naming the rule it enforces: the virtio
 * 1.2 section title and the item of vdisk's own checklist (shared/specs/virtio-blk.md section 7.3,
 * "Validation checklist the device enforces"). {@link Tier} says what the device does about it.
 *
 * <p>Counters are indexed by {@link #ordinal()}; never reorder constants within a release.
 */
public enum QueueError {
  /**
   * {@code avail.idx} ran ahead of the device's next index by more than the queue size (virtio 1.2
   * "The Virtqueue Available Ring"; checklist 1; rust-vmm {@code InvalidAvailRingIndex}, QEMU
   * "Guest moved used index").
   */
  AVAIL_IDX_OVERRUN(Tier.RING),

  /**
   * An available-ring entry names a head at or beyond the queue size (virtio 1.2 "The Virtqueue
   * Available Ring"; checklist 2; QEMU "Guest says index %u is available").
   */
  HEAD_OUT_OF_RANGE(Tier.RING),

  /**
   * An available-ring entry names a head whose previous chain has not been returned yet (checklist
   * 9; Cloud Hypervisor {@code QueueDuplicatedHeadIndex}). Accepting it would complete one chain
   * twice and let the in-flight count exceed the queue size.
   */
  HEAD_IN_FLIGHT(Tier.RING),

  /**
   * A {@code next} index at or beyond the table it indexes: N for the descriptor table, len/16 in
   * an indirect table (virtio 1.2 "The Virtqueue Descriptor Table"; checklist 3).
   */
  NEXT_OUT_OF_RANGE(Tier.CHAIN),

  /**
   * The walk visited more descriptors than its table holds, so the chain loops (virtio 1.2 "Message
   * Framing": a chain is at most the queue size long; checklist 4; QEMU "Looped descriptor").
   */
  CHAIN_LOOP(Tier.CHAIN),

  /**
   * The chain has more descriptors than the configured limit (checklist 10; QEMU and Aero cap at
   * 1024, vdisk at max(queue size, the device's indirect limit)).
   */
  CHAIN_TOO_LONG(Tier.CHAIN),

  /**
   * An INDIRECT descriptor while INDIRECT_DESC was not negotiated (virtio 1.2 "Indirect
   * Descriptors": the driver MUST NOT set INDIRECT unless negotiated; checklist 5).
   */
  INDIRECT_NOT_NEGOTIATED(Tier.CHAIN),

  /**
   * An indirect table whose length is 0 or not a multiple of 16 (virtio 1.2 "Indirect Descriptors";
   * checklist 5; rust-vmm {@code InvalidIndirectDescriptorTable}).
   */
  INDIRECT_BAD_LENGTH(Tier.CHAIN),

  /** An indirect table with more entries than the limit (checklist 5 and 10). */
  INDIRECT_TOO_LARGE(Tier.CHAIN),

  /**
   * An INDIRECT descriptor inside an indirect table (virtio 1.2 "Indirect Descriptors": MUST NOT
   * nest; checklist 5; rust-vmm {@code InvalidIndirectDescriptor}).
   */
  INDIRECT_NESTED(Tier.CHAIN),

  /**
   * A descriptor with both INDIRECT and NEXT (virtio 1.2 "Indirect Descriptors": MUST NOT set both;
   * checklist 5).
   */
  INDIRECT_WITH_NEXT(Tier.CHAIN),

  /** The indirect table does not lie inside one guest memory region (checklist 5 and 8). */
  INDIRECT_TABLE_UNMAPPED(Tier.CHAIN),

  /**
   * A device-readable descriptor after a device-writable one (virtio 1.2 "The Virtqueue Descriptor
   * Table": readable before writable; checklist 6; QEMU "Incorrect order for descriptors").
   */
  READABLE_AFTER_WRITABLE(Tier.CHAIN),

  /** A buffer of length 0 (checklist 7; QEMU "zero sized buffers are not allowed"). */
  ZERO_LENGTH_BUFFER(Tier.CHAIN),

  /**
   * The chain's total length reaches 2^32 bytes (virtio 1.2 "Message Framing"; checklist 7;
   * rust-vmm {@code DescriptorChainOverflow}).
   */
  CHAIN_BYTES_OVERFLOW(Tier.CHAIN),

  /**
   * A buffer that is not wholly inside guest memory (one region, or a run of adjacent regions)
   * (checklist 8; rust-vmm {@code GuestMemoryError}).
   */
  BUFFER_UNMAPPED(Tier.CHAIN),

  /** A device-writable buffer in a region the VMM mapped read-only (checklist 8). */
  BUFFER_READ_ONLY(Tier.CHAIN),

  /**
   * The chain splits into more memory segments (descriptors crossing region boundaries) than the
   * pre-sized chain holds (checklist 10, bounded work).
   */
  TOO_MANY_SEGMENTS(Tier.CHAIN);

  /** What the device does when a rule is broken (vdisk spec section 10.6). */
  public enum Tier {
    /**
     * The chain is unusable but its head is valid: the head goes back on the used ring with len 0
     * and nothing is written (Firecracker, Cloud Hypervisor "reclaim head"); never dropped, never
     * parsed again.
     */
    CHAIN,
    /**
     * The ring itself is corrupt (no trustworthy head): DEVICE_NEEDS_RESET, the queue stops until
     * the driver resets it (QEMU {@code virtio_error}).
     */
    RING
  }

  private final Tier tier;

  QueueError(Tier tier) {
    this.tier = tier;
  }

  public Tier tier() {
    return tier;
  }

  /** Number of constants, for counter arrays (without the allocation of {@code values()}). */
  public static final int COUNT = values().length;
}
