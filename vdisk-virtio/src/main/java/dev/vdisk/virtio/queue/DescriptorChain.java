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
 * Segments are packed {@link #STRIDE} longs apart in one array (guest address, host address, store
 * offset, region index and length) rather than kept in five arrays: appending a segment is then
 * four stores and one bounds check, where vdisk-bench's profile of the 4 KiB read loop found the
 * five-array version at 13% of the device's samples.
 */
public final class DescriptorChain {
  private static final int GPA = 0;
  private static final int HOST = 1;
  private static final int STORE_OFFSET = 2;
  private static final int REGION_AND_LENGTH = 3; // region index << 32 | length
  private static final int STRIDE = 4;
  private static final int SHIFT = 2; // log2(STRIDE)

  private final long[] packed;

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

  void clear(int newHead) {
    head = newHead;
    segments = 0;
    readableSegments = 0;
    descriptors = 0;
    readableBytes = 0;
    writableBytes = 0;
    indirect = false;
    error = null;
  }

  /** Appends a segment; false when the chain is full. */
  boolean add(long guest, long hostAddress, long offsetInStore, int len, int regionIndex) {
    int i = segments;
    long[] p = packed;
    int b = i << SHIFT;
    if (b > p.length - STRIDE) {
      return false;
    }
    p[b + GPA] = guest;
    p[b + HOST] = hostAddress;
    p[b + STORE_OFFSET] = offsetInStore;
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
    return packed[(segment << SHIFT) + GPA];
  }

  /** Host address of the segment's first byte (already bounds-checked). */
  public long hostAddress(int segment) {
    return packed[(segment << SHIFT) + HOST];
  }

  /** Offset of the segment in its region's store ({@code gpa - region.guestBase()}). */
  public long storeOffset(int segment) {
    return packed[(segment << SHIFT) + STORE_OFFSET];
  }

  public int length(int segment) {
    return (int) packed[(segment << SHIFT) + REGION_AND_LENGTH];
  }

  /** Index of the guest memory region holding the segment. */
  public int regionIndex(int segment) {
    return (int) (packed[(segment << SHIFT) + REGION_AND_LENGTH] >>> 32);
  }
}
