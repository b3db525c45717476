package dev.vdisk.api;

/**
 * What a {@link BlockDevice} supports beyond read and write, with the limits a front end advertises
 * to its guest (virtio-blk's discard and write-zeroes limits, NBD's block sizes).
 *
 * @param flush the device has a volatile cache that {@code flush} drains (false: writes are durable
 *     on return, flush is a no-op that succeeds)
 * @param discard discard is supported
 * @param writeZeroes write-zeroes is supported
 * @param writeZeroesMayUnmap write-zeroes with unmap releases storage
 * @param secureErase secure erase is supported
 * @param maxDiscardBytes largest single discard/write-zeroes/secure-erase range
 * @param discardGranularity discard granularity in bytes (a multiple of the block size)
 */
public record BlockCapabilities(
    boolean flush,
    boolean discard,
    boolean writeZeroes,
    boolean writeZeroesMayUnmap,
    boolean secureErase,
    long maxDiscardBytes,
    int discardGranularity) {

  /** Read and write only; flush succeeds trivially. */
  public static final BlockCapabilities READ_WRITE_ONLY =
      new BlockCapabilities(false, false, false, false, false, 0, 0);

  public BlockCapabilities {
    if (maxDiscardBytes < 0) {
      throw new IllegalArgumentException("maxDiscardBytes " + maxDiscardBytes + " (expected >= 0)");
    }
    if (discardGranularity < 0) {
      throw new IllegalArgumentException(
          "discardGranularity " + discardGranularity + " (expected >= 0)");
    }
  }

  /** The same capabilities with every write-side operation removed (for read-only views). */
  public BlockCapabilities readOnly() {
    return new BlockCapabilities(false, false, false, false, false, 0, 0);
  }
}
