package dev.vdisk.cli;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.FileDisk;

/**
 * Keeps a copy's writes into a local image moving to the disk and out of the page cache: each
 * chunk's writeback starts as soon as it is written, and once {@link #WINDOWS} chunks are behind,
 * the oldest is waited for and dropped from the cache (nbdcopy's scheme for file destinations).
 *
 * <p>Why: left alone, the kernel keeps the whole image as dirty pages, and a new page for every
 * byte of a new image costs more than the copy into it. On this project's 2-core VMs a 1 GiB copy
 * from nbdkit spent 2.0-2.7 s of system time, most of it in {@code copy_folio_from_iter_atomic}
 * filling fresh page-cache pages; into pages already cached the same copy took 0.7 s. Recycling a
 * few megabytes of pages brought it to 0.9-1.0 s, and the page cache is left as it was.
 *
 * <p>The calls run on the writing thread. Moving them to a thread of their own (ext4 allocates the
 * delayed blocks inside {@code sync_file_range}) measured no faster on 2 cores: 1.54-2.06 s against
 * 1.60-2.05 s over six alternating runs.
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
