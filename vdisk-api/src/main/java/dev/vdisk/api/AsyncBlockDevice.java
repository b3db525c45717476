package dev.vdisk.api;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * A {@link BlockDevice} that can keep many requests in flight (network disks). A front end submits
 * and returns at once; the device calls {@link Completion#complete} from any thread, possibly out
 * of order. The token is the front end's own (e.g. a descriptor head index) and lets a single
 * completion object serve every request without allocating one per request.
 *
 * <p>Until {@code complete} is called for a token, the memory range handed in with it belongs to
 * the device; afterwards the device must not touch it.
 */
public interface AsyncBlockDevice extends BlockDevice {

  /** Operation codes for {@link #submit}. */
  int OP_READ = 0;

  int OP_WRITE = 1;
  int OP_FLUSH = 2;
  int OP_DISCARD = 3;
  int OP_WRITE_ZEROES = 4;
  int OP_WRITE_ZEROES_UNMAP = 5;

  /**
   * Starts one operation. For READ/WRITE {@code length} bytes move between {@code offset} and
   * {@code store} at {@code storeOffset}; for FLUSH the range is ignored; for DISCARD and
   * WRITE_ZEROES {@code store} may be null. Never blocks for the I/O itself (it may block briefly
   * when the device's own in-flight limit is reached).
   */
  void submit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion);

  /** Called once per submitted token. */
  @FunctionalInterface
  interface Completion {
    /**
     * @param error null on success, else why it failed
     */
    void complete(long token, BlockDeviceException error);
  }
}
