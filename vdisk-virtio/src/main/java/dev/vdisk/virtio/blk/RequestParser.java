package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkConfigLayout.HEADER_SECTOR;
import static dev.vdisk.virtio.blk.BlkConfigLayout.HEADER_SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.HEADER_TYPE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_FLAGS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_F_UNMAP;
import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_NUM_SECTORS;
import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_SECTOR;
import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_SIZE;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SECTOR_SHIFT;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SECTOR_SIZE;

import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.HostMemory;

/**
 * Parses and validates a whole virtio-blk request before any I/O (Firecracker, Cloud Hypervisor):
 * header readable, data direction matching the type, lengths and alignment, range within the
 * capacity, status byte writable, segment limits, range lists. Returns the {@link BlkError} that
 * applies, or null when the request may run; never throws on guest input.
 *
 * <p>Framing is not assumed (virtio 1.2 "Message Framing"): the header may be split across
 * descriptors or share one with data, and data may share the last descriptor with the status byte.
 */
final class RequestParser {
  private final BlkSettings settings;
  private final VirtioBlkDevice device;
  private final boolean flushNegotiated;
  private final boolean discardNegotiated;
  private final boolean writeZeroesNegotiated;
  private final boolean secureEraseNegotiated;
  private final boolean lifetimeNegotiated;
  private final boolean readOnly;
  private final boolean sizeMaxEnforced;
  private final boolean backendHasCache;
  private final long blockMask; // logical block size - 1, in bytes

  /** Set when the last FLUSH carried data or a non-zero sector (executed anyway, counted). */
  boolean oddFlush;

  RequestParser(BlkSettings settings, VirtioBlkDevice device, long negotiated) {
    this.settings = settings;
    this.device = device;
    this.flushNegotiated = has(negotiated, BlkFeatures.FLUSH);
    this.discardNegotiated = has(negotiated, BlkFeatures.DISCARD);
    this.writeZeroesNegotiated = has(negotiated, BlkFeatures.WRITE_ZEROES);
    this.secureEraseNegotiated = has(negotiated, BlkFeatures.SECURE_ERASE);
    this.lifetimeNegotiated = has(negotiated, BlkFeatures.LIFETIME);
    // "If RO is offered, a write request MUST get IOERR" - offered, whatever was negotiated.
    this.readOnly = settings.offers(BlkFeatures.RO) || settings.backend.isReadOnly();
    this.sizeMaxEnforced = settings.enforceSegmentLimits && settings.sizeMax > 0;
    this.backendHasCache = settings.backend.capabilities().flush();
    this.blockMask = settings.blockSize - 1L;
  }

  private static boolean has(long features, int bit) {
    return (features & (1L << bit)) != 0;
  }

  BlkError parse(DescriptorChain c, BlkRequest r) {
    r.head = c.head();
    r.bucket = BlkRequestType.STAT_OTHER;
    r.flushAfterWrite = false;
    r.rangeCount = 0;
    oddFlush = false;
    int segments = c.segments();
    int readableSegs = c.readableSegments();
    if (segments == readableSegs) {
      r.statusHost = 0;
      return BlkError.NO_STATUS_BYTE;
    }
    int last = segments - 1;
    r.statusHost = c.hostAddress(last) + c.length(last) - 1;
    long readable = c.readableBytes();
    long writableData = c.writableBytes() - 1;
    if (readable < HEADER_SIZE) {
      return BlkError.HEADER_TOO_SHORT;
    }
    if (readableSegs > 0 && c.length(0) >= HEADER_SIZE) {
      long h = c.hostAddress(0);
      r.type = HostMemory.u32(h + HEADER_TYPE);
      r.sector = HostMemory.u64(h + HEADER_SECTOR);
    } else {
      gatherHeader(c, r);
    }
    long type = r.type;
    long sector = r.sector;
    r.bucket = BlkRequestType.statBucket(type);
    if (type == BlkRequestType.IN) {
      return parseRead(c, r, readable, writableData);
    } else if (type == BlkRequestType.OUT) {
      return parseWrite(c, r, readable, writableData);
    } else if (type == BlkRequestType.FLUSH || type == BlkRequestType.FLUSH_OUT) {
      if (!flushNegotiated) {
        return BlkError.NOT_NEGOTIATED;
      }
      // The spec restricts the driver only (sector 0, no data): execute anyway, but count it.
      oddFlush = sector != 0 || readable != HEADER_SIZE || writableData != 0;
      r.op = BlkRequest.OP_FLUSH;
      r.usedLenOnSuccess = 1;
      return null;
    }
    return parseOther(c, r, type, readable, writableData);
  }

  /** Cold: a header split across descriptors (virtio 1.2 allows any framing). */
  private static void gatherHeader(DescriptorChain c, BlkRequest r) {
    r.gatherReadable(c, 0, HEADER_SIZE);
    r.type = BlkRequest.leU32(r.scratch, HEADER_TYPE);
    r.sector = BlkRequest.leU64(r.scratch, HEADER_SECTOR);
  }

  /**
   * The request types outside the read/write/flush loop. Kept out of {@link #parse} so that parse
   * stays under C2's inlining limit for hot methods (FreqInlineSize, 325 bytes of bytecode).
   */
  private BlkError parseOther(
      DescriptorChain c, BlkRequest r, long type, long readable, long writableData) {
    if (type == BlkRequestType.GET_ID) {
      return parseAnswer(
          c, r, readable, writableData, BlkRequestType.ID_BYTES, BlkRequest.OP_GET_ID);
    } else if (type == BlkRequestType.GET_LIFETIME) {
      if (!lifetimeNegotiated) {
        return BlkError.NOT_NEGOTIATED;
      }
      return parseAnswer(
          c, r, readable, writableData, BlkRequestType.LIFETIME_BYTES, BlkRequest.OP_GET_LIFETIME);
    } else if (type == BlkRequestType.DISCARD) {
      return parseRanges(
          c,
          r,
          readable,
          writableData,
          discardNegotiated,
          settings.maxDiscardSeg,
          settings.maxDiscardSectors,
          false,
          BlkRequest.OP_DISCARD);
    } else if (type == BlkRequestType.WRITE_ZEROES) {
      return parseRanges(
          c,
          r,
          readable,
          writableData,
          writeZeroesNegotiated,
          settings.maxWriteZeroesSeg,
          settings.maxWriteZeroesSectors,
          true,
          BlkRequest.OP_WRITE_ZEROES);
    } else if (type == BlkRequestType.SECURE_ERASE) {
      return parseRanges(
          c,
          r,
          readable,
          writableData,
          secureEraseNegotiated,
          settings.maxSecureEraseSeg,
          settings.maxSecureEraseSectors,
          false,
          BlkRequest.OP_SECURE_ERASE);
    }
    return BlkError.UNKNOWN_TYPE;
  }

  private BlkError parseRead(DescriptorChain c, BlkRequest r, long readable, long data) {
    if (readable != HEADER_SIZE) {
      return BlkError.WRONG_DIRECTION;
    }
    if (data == 0) {
      return BlkError.NO_DATA;
    }
    BlkError e = checkRange(r.sector, data);
    if (e != null) {
      return e;
    }
    r.dataSeg = c.readableSegments();
    r.dataOff = 0;
    r.dataBytes = data;
    e = checkSegments(c, r);
    if (e != null) {
      return e;
    }
    r.op = BlkRequest.OP_READ;
    r.usedLenOnSuccess = (int) (data + 1);
    return null;
  }

  private BlkError parseWrite(DescriptorChain c, BlkRequest r, long readable, long writableData) {
    if (readOnly) {
      return BlkError.READ_ONLY;
    }
    if (writableData != 0) {
      return BlkError.WRONG_DIRECTION;
    }
    long data = readable - HEADER_SIZE;
    if (data == 0) {
      return BlkError.NO_DATA;
    }
    BlkError e = checkRange(r.sector, data);
    if (e != null) {
      return e;
    }
    r.locateReadable(c, HEADER_SIZE);
    r.dataBytes = data;
    e = checkSegments(c, r);
    if (e != null) {
      return e;
    }
    r.op = BlkRequest.OP_WRITE;
    r.usedLenOnSuccess = 1;
    r.flushAfterWrite = backendHasCache && device.writeThrough();
    return null;
  }

  /** GET_ID / GET_LIFETIME: the device writes {@code answer} bytes into the writable data. */
  private BlkError parseAnswer(
      DescriptorChain c, BlkRequest r, long readable, long data, int answer, int op) {
    if (readable != HEADER_SIZE) {
      return BlkError.WRONG_DIRECTION;
    }
    if (data < answer) {
      return op == BlkRequest.OP_GET_ID
          ? BlkError.ID_BUFFER_TOO_SMALL
          : BlkError.LIFETIME_BUFFER_TOO_SMALL;
    }
    r.dataSeg = c.readableSegments();
    r.dataOff = 0;
    r.dataBytes = answer;
    r.op = op;
    r.usedLenOnSuccess = answer + 1;
    return null;
  }

  private BlkError parseRanges(
      DescriptorChain c,
      BlkRequest r,
      long readable,
      long writableData,
      boolean negotiated,
      int maxSeg,
      long maxSectors,
      boolean unmapAllowed,
      int op) {
    if (readOnly) {
      return BlkError.READ_ONLY;
    }
    if (!negotiated) {
      return BlkError.NOT_NEGOTIATED;
    }
    if (writableData != 0) {
      return BlkError.WRONG_DIRECTION;
    }
    long data = readable - HEADER_SIZE;
    if (data == 0 || data % RANGE_SIZE != 0) {
      return BlkError.RANGE_LIST_LENGTH;
    }
    long count = data / RANGE_SIZE;
    if (count > maxSeg) {
      return BlkError.RANGE_LIST_TOO_LONG;
    }
    int n = (int) count;
    // One copy of the whole list: validated and executed from here, never re-read.
    r.gatherReadable(c, HEADER_SIZE, n * RANGE_SIZE);
    long capacity = device.capacitySectors();
    long blockSectorsMask = blockMask >>> SECTOR_SHIFT;
    for (int i = 0; i < n; i++) {
      int off = i * RANGE_SIZE;
      long sector = BlkRequest.leU64(r.scratch, off + RANGE_SECTOR);
      long sectors = BlkRequest.leU32(r.scratch, off + RANGE_NUM_SECTORS);
      int flags = (int) BlkRequest.leU32(r.scratch, off + RANGE_FLAGS);
      if ((flags & ~RANGE_F_UNMAP) != 0 || (!unmapAllowed && (flags & RANGE_F_UNMAP) != 0)) {
        return BlkError.RANGE_FLAGS;
      }
      if (sectors > maxSectors) {
        return BlkError.RANGE_TOO_LARGE;
      }
      if ((sector & blockSectorsMask) != 0 || (sectors & blockSectorsMask) != 0) {
        return BlkError.MISALIGNED;
      }
      if (sector < 0 || sector > capacity || sectors > capacity - sector) {
        return BlkError.OUT_OF_RANGE;
      }
      r.rangeSector[i] = sector;
      r.rangeSectors[i] = sectors;
      r.rangeFlags[i] = flags;
    }
    r.rangeCount = n;
    r.op = op;
    r.usedLenOnSuccess = 1;
    return null;
  }

  /** Length and alignment, then bounds against the capacity, all overflow-safe. */
  private BlkError checkRange(long sector, long bytes) {
    if ((bytes & (SECTOR_SIZE - 1)) != 0 || (bytes & blockMask) != 0) {
      return BlkError.MISALIGNED;
    }
    if (((sector << SECTOR_SHIFT) & blockMask) != 0) {
      return BlkError.MISALIGNED;
    }
    long capacity = device.capacitySectors();
    long sectors = bytes >>> SECTOR_SHIFT;
    if (sector < 0 || sector > capacity || sectors > capacity - sector) {
      return BlkError.OUT_OF_RANGE;
    }
    return null;
  }

  /** seg_max / size_max, when the device enforces them (AERO contract; opt-in otherwise). */
  private BlkError checkSegments(DescriptorChain c, BlkRequest r) {
    if (!settings.enforceSegmentLimits) {
      return null;
    }
    int pieces = 0;
    for (boolean more = r.firstPiece(c); more; more = r.nextPiece(c)) {
      if (++pieces > settings.segMax) {
        return BlkError.TOO_MANY_SEGMENTS;
      }
      if (sizeMaxEnforced && r.pieceLen > settings.sizeMax) {
        return BlkError.SEGMENT_TOO_LARGE;
      }
    }
    return null;
  }
}
