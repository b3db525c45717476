package dev.vdisk.cli;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.FileDisk;

/**
 * Keeps a copy's writes into a local image moving to the disk and out of the page cache: each
 * chunk's writeback starts as soon as it is written, and once {@link #WINDOWS} chunks are behind,
 * the oldest is waited for and dropped from the cache (nbdcopy's scheme for file destinations).
 *
 * <p>Why: left alone, the kernel keeps the whole image as dirty pages, so a large copy fills the
 * page cache (evicting everything else) and is then throttled to the disk's pace anyway, in a
 * burst. It also decides what a fresh page costs: on this project's 2-core VMs, whose memory the
 * host backs on first touch, a 1 GiB copy from nbdkit into a new file spent 2.0-2.7 s of system
 * time, most of it in {@code copy_folio_from_iter_atomic} filling never-used pages; recycling a few
 * megabytes of pages brought that to 0.9-1.0 s, and the copy's median over five alternating runs
 * from 2.30 s to 1.66 s (with 1 MiB requests).
 *
 * <p>The price, where memory is already backed (the same VM after an hour of copies): a copy that
 * is not flushed at the end took 1.4-2.1 s against 1.1-1.5 s without write-behind (ext4 allocates
 * the delayed blocks inside {@code sync_file_range}, on the writing thread), while the default
 * flushed copy came out even (2.4-2.9 s against 2.5-3.2 s: the writeback is done by the time of the
 * flush). Kept, as nbdcopy keeps it: bounded dirty memory and an untouched page cache are worth
 * more to a machine running VMs than a faster unflushed copy.
 *
 * <p>Tried and not kept (no faster on 2 cores): the calls on a thread of their own (1.54-2.06 s
 * against 1.60-2.05 s over six alternating runs; later 1.58-1.77 s against 1.43-2.08 s), and 2 MiB
 * windows with 256 KiB requests instead of one window per 1 MiB request (1.47-2.23 s).
 *
 * <p>Not thread-safe: the copy calls it under its write lock.
 */
final class WriteBehind {
  /** Chunks whose writeback may still run; 8 of 1 MiB keep 8 MiB in flight to the disk. */
  static final int WINDOWS = 8;

  private final FileDisk file;
  private final long[] offsets = new long[WINDOWS];
  private final long[] lengths = new long[WINDOWS];
  private int oldest;
  private int count;

  private WriteBehind(FileDisk file) {
    this.file = file;
  }

  /**
   * For a destination that is an image file whose writeback this process can control, else null (a
   * window or byte-swap view, a remote disk, or no native calls: the copy writes as before).
   */
  static WriteBehind forDestination(BlockDevice dst) {
    return dst instanceof FileDisk f && f.controlsWriteback() ? new WriteBehind(f) : null;
  }

  /**
   * Records that {@code [offset, offset + length)} was just written: starts its writeback, and
   * waits for and drops the oldest chunk once {@link #WINDOWS} are behind. A failed writeback is
   * the copy's failure (the data did not reach the disk).
   */
  void written(long offset, long length) throws BlockDeviceException {
    if (count == WINDOWS) {
      file.dropWritten(offsets[oldest], lengths[oldest]);
      oldest = (oldest + 1) % WINDOWS;
      count--;
    }
    file.startWriteback(offset, length);
    int slot = (oldest + count) % WINDOWS;
    offsets[slot] = offset;
    lengths[slot] = length;
    count++;
  }
}
