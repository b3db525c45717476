package dev.vdisk.virtio.blk;

/** The status byte a request completes with (virtio 1.2 "Device Operation"). */
public final class BlkStatus {
  public static final int OK = 0;

  /** Device or driver error. */
  public static final int IOERR = 1;

  /** Request type not supported (or its feature not negotiated). */
  public static final int UNSUPP = 2;

  /**
   * Not a status the guest sees: the chain has no usable status byte, so the head goes back on the
   * used ring with len 0 and nothing is written (vdisk spec section 10.6, tier 2).
   */
  public static final int NONE = -1;

  private BlkStatus() {}
}
