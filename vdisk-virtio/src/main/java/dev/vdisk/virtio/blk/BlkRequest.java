package dev.vdisk.virtio.blk;

import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.HostMemory;

/**
 * One parsed and validated virtio-blk request: the fields the executors need, copied out of guest
 * memory once (the header and the range list are never read twice, so a guest rewriting them
 * mid-request cannot change what was validated). Reused for every request of a queue.
 *
 * <p>The data area is a byte range of the chain (readable bytes after the header for writes,
 * writable bytes before the status for reads); {@link #firstPiece}/{@link #nextPiece} walk it as
 * pieces that each lie in one segment, which is what a backend call takes.
 */
final class BlkRequest {
  // Operations after parsing.
  static final int OP_READ = 0;
  static final int OP_WRITE = 1;
  static final int OP_FLUSH = 2;
  static final int OP_GET_ID = 3;
  static final int OP_GET_LIFETIME = 4;
  static final int OP_DISCARD = 5;
  static final int OP_WRITE_ZEROES = 6;
  static final int OP_SECURE_ERASE = 7;

  int head;
  long type;
  long sector;
  int bucket;
  int op;
  long statusHost;
  int usedLenOnSuccess;
  boolean flushAfterWrite;

  // Data area: starts at (dataSeg, dataOff), dataBytes long.
  int dataSeg;
  long dataOff;
  long dataBytes;

  // Current piece.
  int pieceSeg;
  long pieceOff;
  int pieceLen;
  private long pieceRemaining;

  // Range list of DISCARD / WRITE_ZEROES / SECURE_ERASE, copied out of guest memory.
  final long[] rangeSector;
  final long[] rangeSectors;
  final int[] rangeFlags;
  int rangeCount;

  /** Scratch for headers and ranges that straddle segments. */
  final byte[] scratch;

  BlkRequest(int maxRanges) {
    rangeSector = new long[maxRanges];
    rangeSectors = new long[maxRanges];
    rangeFlags = new int[maxRanges];
    scratch =
        new byte[Math.max(BlkConfigLayout.HEADER_SIZE, maxRanges * BlkConfigLayout.RANGE_SIZE)];
  }

  /** Positions on the first data piece; false when the data area is empty. */
  boolean firstPiece(DescriptorChain c) {
    pieceSeg = dataSeg;
    pieceOff = dataOff;
    pieceRemaining = dataBytes;
    return setPiece(c);
  }

  /** Moves to the next data piece; false at the end of the data area. */
  boolean nextPiece(DescriptorChain c) {
    pieceRemaining -= pieceLen;
    pieceSeg++;
    pieceOff = 0;
    return setPiece(c);
  }

  private boolean setPiece(DescriptorChain c) {
    if (pieceRemaining <= 0) {
      pieceLen = 0;
      return false;
    }
    long available = c.length(pieceSeg) - pieceOff;
    pieceLen = (int) Math.min(available, pieceRemaining);
    return true;
  }

  /** Host address of the current piece. */
  long pieceHost(DescriptorChain c) {
    return c.hostAddress(pieceSeg) + pieceOff;
  }

  /** Offset of the current piece in its region's store. */
  long pieceStoreOffset(DescriptorChain c) {
    return c.storeOffset(pieceSeg) + pieceOff;
  }

  /**
   * Copies {@code length} bytes of the chain's readable part starting at logical offset {@code
   * from} into {@link #scratch} (for fields that straddle segments). The caller checked the range.
   */
  void gatherReadable(DescriptorChain c, long from, int length) {
    int seg = 0;
    long skip = from;
    while (c.length(seg) <= skip) {
      skip -= c.length(seg);
      seg++;
    }
    int copied = 0;
    while (copied < length) {
      int n = (int) Math.min(c.length(seg) - skip, length - copied);
      HostMemory.copy(c.hostAddress(seg) + skip, scratch, copied, n);
      copied += n;
      seg++;
      skip = 0;
    }
  }

  /** Finds the segment and offset of logical readable byte {@code from}; sets dataSeg/dataOff. */
  void locateReadable(DescriptorChain c, long from) {
    int seg = 0;
    long skip = from;
    int readable = c.readableSegments();
    while (seg < readable && c.length(seg) <= skip) {
      skip -= c.length(seg);
      seg++;
    }
    dataSeg = seg;
    dataOff = skip;
  }

  static long leU32(byte[] b, int off) {
    return (b[off] & 0xffL)
        | (b[off + 1] & 0xffL) << 8
        | (b[off + 2] & 0xffL) << 16
        | (b[off + 3] & 0xffL) << 24;
  }

  static long leU64(byte[] b, int off) {
    return leU32(b, off) | leU32(b, off + 4) << 32;
  }
}
