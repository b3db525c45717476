package dev.vdisk.virtio.blk;

import dev.vdisk.api.BlockDeviceException;

/**
 * Every reason a virtio-blk request does not complete with OK, each mapped to the status the guest
 * sees. This is the one place where failures become statuses (Firecracker and Cloud Hypervisor
 * style); the request processor only picks a constant, and a per-queue counter per constant moves.
 *
 * <p>References are to virtio 1.2 "Block Device" ("Device Operation" and its normative statements)
 * and to vdisk's spec file shared/specs/virtio-blk.md (sections 10.4 - 10.6), which also names the
 * peers whose behaviour is followed.
 *
 * <p>Counters are indexed by {@link #ordinal()}; never reorder constants within a release.
 */
public enum BlkError {
  /**
   * The chain itself broke a virtqueue rule ({@link dev.vdisk.virtio.queue.QueueError}, tier
   * CHAIN): returned with len 0, nothing written (spec 10.6 tier 2).
   */
  CHAIN_MALFORMED(BlkStatus.NONE),

  /**
   * The chain has no usable status byte: no device-writable descriptor at its end (spec 10.6 tier
   * 2; Firecracker, Cloud Hypervisor PR #8401 reclaim the head with len 0).
   */
  NO_STATUS_BYTE(BlkStatus.NONE),

  /** Fewer than 16 device-readable bytes for the header (spec 10.2; Firecracker). */
  HEADER_TOO_SHORT(BlkStatus.IOERR),

  /**
   * A type the device does not implement: legacy SCSI (2, 3), zone types without ZONED, the legacy
   * BARRIER bit, or anything undefined (spec 10.4, 10.5: UNSUPP).
   */
  UNKNOWN_TYPE(BlkStatus.UNSUPP),

  /**
   * A type whose feature was not negotiated: FLUSH, DISCARD, WRITE_ZEROES, SECURE_ERASE,
   * GET_LIFETIME (spec 10.5; rust-vmm's executor answers UNSUPP).
   */
  NOT_NEGOTIATED(BlkStatus.UNSUPP),

  /**
   * A write-side request (OUT, DISCARD, WRITE_ZEROES, SECURE_ERASE) on a read-only device (virtio
   * 1.2: "MUST set the status to IOERR" for writes when RO is offered; spec 10.4, 10.5).
   */
  READ_ONLY(BlkStatus.IOERR),

  /**
   * Data descriptors in the wrong direction: IN/GET_ID/GET_LIFETIME with device-readable data, or
   * OUT/DISCARD/WRITE_ZEROES/SECURE_ERASE with device-writable bytes besides the status (spec 10.5,
   * "data direction mismatch").
   */
  WRONG_DIRECTION(BlkStatus.IOERR),

  /** IN/OUT with no data (spec 10.5 [vdisk], Aero contract: between 1 and seg_max buffers). */
  NO_DATA(BlkStatus.IOERR),

  /**
   * Data length not a multiple of 512, or sector/length not aligned to the backend's logical block
   * (spec 10.4: QEMU {@code virtio_blk_sect_range_ok}, Firecracker {@code InvalidDataLength}).
   */
  MISALIGNED(BlkStatus.IOERR),

  /**
   * sector + length overflows or ends past the capacity (spec 10.4; QEMU, Firecracker {@code
   * InvalidOffset}, Cloud Hypervisor PR #7873 for discard ranges).
   */
  OUT_OF_RANGE(BlkStatus.IOERR),

  /** More data segments than seg_max, when the device enforces it (spec 10.4; Aero contract). */
  TOO_MANY_SEGMENTS(BlkStatus.IOERR),

  /** A data segment longer than size_max, when SIZE_MAX is offered and enforced (spec 10.4). */
  SEGMENT_TOO_LARGE(BlkStatus.IOERR),

  /** GET_ID with fewer than 20 writable data bytes (spec 10.5 [vdisk], as Firecracker). */
  ID_BUFFER_TOO_SMALL(BlkStatus.IOERR),

  /** GET_LIFETIME with fewer than 6 writable data bytes (virtio 1.2: the answer is 6 bytes). */
  LIFETIME_BUFFER_TOO_SMALL(BlkStatus.IOERR),

  /**
   * DISCARD/WRITE_ZEROES/SECURE_ERASE data empty or not a multiple of the 16-byte range (spec 10.3,
   * 10.5).
   */
  RANGE_LIST_LENGTH(BlkStatus.IOERR),

  /** More ranges than max_discard_seg / max_write_zeroes_seg / max_secure_erase_seg (spec 10.5). */
  RANGE_LIST_TOO_LONG(BlkStatus.IOERR),

  /**
   * A range with unknown flag bits, or with UNMAP on DISCARD or SECURE_ERASE (virtio 1.2: MUST be
   * UNSUPP; spec 10.4, 10.5).
   */
  RANGE_FLAGS(BlkStatus.UNSUPP),

  /** A range longer than max_*_sectors (spec 10.5; QEMU). */
  RANGE_TOO_LARGE(BlkStatus.IOERR),

  /** The backend failed the I/O ({@link BlockDeviceException.Reason#IO_ERROR} and unknown). */
  BACKEND_IO_ERROR(BlkStatus.IOERR),

  /** The backend does not support the operation. */
  BACKEND_UNSUPPORTED(BlkStatus.UNSUPP),

  /** The backend refused a write because it is read-only. */
  BACKEND_READ_ONLY(BlkStatus.IOERR),

  /** The backend found the range outside the disk (it shrank under the request). */
  BACKEND_OUT_OF_RANGE(BlkStatus.IOERR),

  /** A remote backend timed out. */
  BACKEND_TIMEOUT(BlkStatus.IOERR),

  /**
   * The backend threw an unchecked exception: a bug in it, contained here so that it never reaches
   * the VMM.
   */
  BACKEND_BUG(BlkStatus.IOERR);

  private final int status;

  BlkError(int status) {
    this.status = status;
  }

  /** The status byte the guest sees ({@link BlkStatus#NONE}: no status is written). */
  public int status() {
    return status;
  }

  /** Number of constants, for counter arrays. */
  public static final int COUNT = values().length;

  /** The reason a backend gave, as a status reason. */
  public static BlkError fromBackend(BlockDeviceException.Reason reason) {
    if (reason == null) {
      return BACKEND_IO_ERROR;
    }
    switch (reason) {
      case UNSUPPORTED:
        return BACKEND_UNSUPPORTED;
      case READ_ONLY:
        return BACKEND_READ_ONLY;
      case OUT_OF_RANGE:
        return BACKEND_OUT_OF_RANGE;
      case TIMEOUT:
        return BACKEND_TIMEOUT;
      case IO_ERROR:
      default:
        return BACKEND_IO_ERROR;
    }
  }
}
