package dev.vdisk.virtio.queue;

/**
 * One validated descriptor chain, as the device's private copy: {@link Virtqueue#pop} fills it and
 * the device reads only from here afterwards, so a driver rewriting the descriptor table while a
 * request runs cannot change what was validated (no double fetch).
 *
 * <p>The chain is a list of memory <em>segments</em>: normally one per descriptor, more when a
 * buffer spans adjacent guest memory regions. Readable segments come first ({@link
 * #readableSegments()}), then writable ones. For each segment it keeps the guest address, the
 * length, the index of the guest memory region holding it (so the device can hand the region's
 * store and {@link #storeOffset} to a backend) and the host address (so small fields are read
 * without another lookup).
 *
 * <p>Reused for every request: the array is sized once for the longest chain a queue accepts.
 * Segments are packed {@link #STRIDE} longs apart in one array (host address; region index and
 * length): appending a segment is two stores and one bounds check. The guest address and the store
 * offset are derived from the host address and the region's bases when asked for, which is rare;
 * vdisk-bench's profile of the request loop had the append at 9% of the device's samples while it
 * stored all four.
 */
public final class DescriptorChain {
  private static final int HOST = 0;
  private static final int REGION_AND_LENGTH = 1; // region index << 32 | length
  private static final int STRIDE = 2;
  private static final int SHIFT = 1; // log2(STRIDE)

  private final long[] packed;

  // The popping queue's region tables (guest base and host address per region index).
  private long[] regionGuestBase = new long[0];
  private long[] regionHostBase = new long[0];

  int head = -1;
  int segments;
  int readableSegments;
  int descriptors;
  long readableBytes;
  long writableBytes;
  boolean indirect;
  QueueError error;

  /** A chain that can hold up to {@code maxSegments} segments. */
  public DescriptorChain(int maxSegments) {
    if (maxSegments < 1) {
      throw new IllegalArgumentException("maxSegments " + maxSegments + " (expected >= 1)");
    }
    if (maxSegments > Integer.MAX_VALUE / STRIDE) {
      throw new IllegalArgumentException(
          "maxSegments " + maxSegments + " (expected <= " + Integer.MAX_VALUE / STRIDE + ")");
    }
    packed = new long[maxSegments * STRIDE];
  }

  /** Makes segment region indices refer to these tables (the queue's own, shared, read-only). */
  void useRegions(long[] guestBase, long[] hostBase) {
    regionGuestBase = guestBase;
    regionHostBase = hostBase;
  }

  boolean usesRegions(long[] hostBase) {
    return regionHostBase == hostBase;
  }

  void clear(int newHead) {
    head = newHead;
    segments = 0;
    readableSegments = -1; // until the first writable descriptor; set by the walk's end
    descriptors = 0;
    readableBytes = 0;
    writableBytes = 0;
    indirect = false;
    error = null;
  }

  /**
   * Appends a segment at {@code hostAddress} in region {@code regionIndex} of the tables given to
   * {@link #useRegions}; false when the chain is full.
   */
  boolean add(long hostAddress, int len, int regionIndex) {
    int i = segments;
    long[] p = packed;
    int b = i << SHIFT;
    if (b > p.length - STRIDE) {
      return false;
    }
    p[b + HOST] = hostAddress;
    p[b + REGION_AND_LENGTH] = ((long) regionIndex << 32) | (len & 0xffff_ffffL);
    segments = i + 1;
    return true;
  }

  public int capacity() {
    return packed.length >> SHIFT;
  }

  /** Head descriptor index: what goes back on the used ring. */
  public int head() {
    return head;
  }

  /** Number of memory segments. */
  public int segments() {
    return segments;
  }

  /** Segments [0, readableSegments) are device-readable, the rest device-writable. */
  public int readableSegments() {
    return readableSegments;
  }

  /** Descriptors the chain was made of (indirect pointers not counted). */
  public int descriptors() {
    return descriptors;
  }

  public long readableBytes() {
    return readableBytes;
  }

  public long writableBytes() {
    return writableBytes;
  }

  /** True when the chain went through an indirect table. */
  public boolean isIndirect() {
    return indirect;
  }

  /** Why the chain was refused, when {@link Virtqueue#pop} said {@link Virtqueue#POP_MALFORMED}. */
  public QueueError error() {
    return error;
  }

  public boolean isWritable(int segment) {
    return segment >= readableSegments;
  }

  public long guestAddress(int segment) {
    return regionGuestBase[regionIndex(segment)] + storeOffset(segment);
  }

  /** Host address of the segment's first byte (already bounds-checked). */
  public long hostAddress(int segment) {
    return packed[(segment << SHIFT) + HOST];
  }

  /** Offset of the segment in its region's store ({@code gpa - region.guestBase()}). */
  public long storeOffset(int segment) {
    return hostAddress(segment) - regionHostBase[regionIndex(segment)];
  }

  public int length(int segment) {
    return (int) packed[(segment << SHIFT) + REGION_AND_LENGTH];
  }

  /** Index of the guest memory region holding the segment. */
  public int regionIndex(int segment) {
    return (int) (packed[(segment << SHIFT) + REGION_AND_LENGTH] >>> 32);
  }
}
