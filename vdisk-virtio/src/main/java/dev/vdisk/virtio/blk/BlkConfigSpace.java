package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkConfigLayout.BLK_SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.CAPACITY;
import static dev.vdisk.virtio.blk.BlkConfigLayout.DISCARD_SECTOR_ALIGNMENT;
import static dev.vdisk.virtio.blk.BlkConfigLayout.GEOMETRY_CYLINDERS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.GEOMETRY_HEADS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.GEOMETRY_SECTORS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_DISCARD_SECTORS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_DISCARD_SEG;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_SECURE_ERASE_SECTORS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_SECURE_ERASE_SEG;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_WRITE_ZEROES_SECTORS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.MAX_WRITE_ZEROES_SEG;
import static dev.vdisk.virtio.blk.BlkConfigLayout.NUM_QUEUES;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SECURE_ERASE_SECTOR_ALIGNMENT;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SEG_MAX;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SIZE_MAX;
import static dev.vdisk.virtio.blk.BlkConfigLayout.TOPOLOGY_ALIGNMENT_OFFSET;
import static dev.vdisk.virtio.blk.BlkConfigLayout.TOPOLOGY_MIN_IO_SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.TOPOLOGY_OPT_IO_SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.TOPOLOGY_PHYSICAL_BLOCK_EXP;
import static dev.vdisk.virtio.blk.BlkConfigLayout.WRITEBACK;
import static dev.vdisk.virtio.blk.BlkConfigLayout.WRITE_ZEROES_MAY_UNMAP;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The device configuration space, field by field (vdisk spec section 10.1). A field is shown only
 * when its feature is offered; everything else, the unused bytes and reads past the structure
 * return 0 (the Aero contract requires zeroes there, and the spec requires unused bytes to be 0).
 * Reads of any width at any offset are served (Windows miniports may read bytewise); only {@code
 * writeback} is writable, and only with CONFIG_WCE.
 *
 * <p>Config accesses are rare (probe, resize), so the image is rendered on each read under a lock;
 * the capacity is the one field that changes at run time.
 */
final class BlkConfigSpace {
  private final BlkSettings settings;
  private final byte[] image = new byte[SIZE];
  private final AtomicLong ignoredWrites = new AtomicLong();
  private volatile long capacitySectors;
  private volatile boolean writeback;

  BlkConfigSpace(BlkSettings settings) {
    this.settings = settings;
    this.capacitySectors = settings.backend.size() >>> BlkConfigLayout.SECTOR_SHIFT;
    this.writeback = settings.writebackDefault;
  }

  long capacitySectors() {
    return capacitySectors;
  }

  void setCapacityBytes(long bytes) {
    capacitySectors = bytes >>> BlkConfigLayout.SECTOR_SHIFT;
  }

  boolean writeback() {
    return writeback;
  }

  void setWriteback(boolean on) {
    writeback = on;
  }

  long ignoredWrites() {
    return ignoredWrites.get();
  }

  /** {@code size} bytes at {@code offset}, little-endian; bytes outside the structure read 0. */
  synchronized long read(int offset, int size) {
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset < 0 || offset >= SIZE) {
      return 0;
    }
    render();
    long v = 0;
    for (int i = size - 1; i >= 0; i--) {
      int pos = offset + i;
      int b = pos < SIZE ? image[pos] & 0xff : 0;
      v = (v << 8) | b;
    }
    return v;
  }

  /**
   * Writes {@code writeback} when the access is exactly that byte and CONFIG_WCE is offered (and
   * negotiated, once a session runs). Everything else is ignored and counted. Returns true when the
   * cache mode changed.
   */
  boolean write(int offset, int size, long value, boolean wceAllowed) {
    if (offset == WRITEBACK
        && size == 1
        && wceAllowed
        && settings.offers(BlkFeatures.CONFIG_WCE)
        && (value & 0xff) <= 1) {
      boolean on = (value & 1) != 0;
      boolean changed = on != writeback;
      writeback = on;
      return changed;
    }
    ignoredWrites.incrementAndGet();
    return false;
  }

  private void render() {
    byte[] b = image;
    java.util.Arrays.fill(b, (byte) 0);
    putLe(b, CAPACITY, 8, capacitySectors);
    if (settings.offers(BlkFeatures.SIZE_MAX)) {
      putLe(b, SIZE_MAX, 4, settings.sizeMax);
    }
    if (settings.offers(BlkFeatures.SEG_MAX)) {
      putLe(b, SEG_MAX, 4, settings.segMax);
    }
    if (settings.offers(BlkFeatures.GEOMETRY)) {
      putLe(b, GEOMETRY_CYLINDERS, 2, settings.geometryCylinders);
      putLe(b, GEOMETRY_HEADS, 1, settings.geometryHeads);
      putLe(b, GEOMETRY_SECTORS, 1, settings.geometrySectors);
    }
    if (settings.offers(BlkFeatures.BLK_SIZE)) {
      putLe(b, BLK_SIZE, 4, settings.blockSize);
    }
    if (settings.offers(BlkFeatures.TOPOLOGY)) {
      // Physical block = logical block, no misalignment, no I/O size hints (QEMU's defaults).
      putLe(b, TOPOLOGY_PHYSICAL_BLOCK_EXP, 1, 0);
      putLe(b, TOPOLOGY_ALIGNMENT_OFFSET, 1, 0);
      putLe(b, TOPOLOGY_MIN_IO_SIZE, 2, 0);
      putLe(b, TOPOLOGY_OPT_IO_SIZE, 4, 0);
    }
    if (settings.offers(BlkFeatures.CONFIG_WCE)) {
      putLe(b, WRITEBACK, 1, writeback ? 1 : 0);
    }
    if (settings.offers(BlkFeatures.MQ)) {
      putLe(b, NUM_QUEUES, 2, settings.queues);
    }
    if (settings.offers(BlkFeatures.DISCARD)) {
      putLe(b, MAX_DISCARD_SECTORS, 4, settings.maxDiscardSectors);
      putLe(b, MAX_DISCARD_SEG, 4, settings.maxDiscardSeg);
      putLe(b, DISCARD_SECTOR_ALIGNMENT, 4, settings.discardAlignmentSectors);
    }
    if (settings.offers(BlkFeatures.WRITE_ZEROES)) {
      putLe(b, MAX_WRITE_ZEROES_SECTORS, 4, settings.maxWriteZeroesSectors);
      putLe(b, MAX_WRITE_ZEROES_SEG, 4, settings.maxWriteZeroesSeg);
      putLe(b, WRITE_ZEROES_MAY_UNMAP, 1, settings.writeZeroesMayUnmap ? 1 : 0);
    }
    if (settings.offers(BlkFeatures.SECURE_ERASE)) {
      putLe(b, MAX_SECURE_ERASE_SECTORS, 4, settings.maxSecureEraseSectors);
      putLe(b, MAX_SECURE_ERASE_SEG, 4, settings.maxSecureEraseSeg);
      putLe(b, SECURE_ERASE_SECTOR_ALIGNMENT, 4, settings.secureEraseAlignmentSectors);
    }
  }

  private static void putLe(byte[] b, int offset, int width, long value) {
    for (int i = 0; i < width; i++) {
      b[offset + i] = (byte) (value >>> (8 * i));
    }
  }
}
