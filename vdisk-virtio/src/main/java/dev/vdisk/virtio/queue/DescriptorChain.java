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
 * <p>Reused for every request: arrays are sized once for the longest chain a queue accepts.
 */
public final class DescriptorChain {
  private final long[] gpa;
  private final long[] host;
  private final long[] storeOffset;
  private final int[] length;
  private final int[] region;

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
    gpa = new long[maxSegments];
    host = new long[maxSegments];
    storeOffset = new long[maxSegments];
    length = new int[maxSegments];
    region = new int[maxSegments];
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
    if (i == gpa.length) {
      return false;
    }
    gpa[i] = guest;
    host[i] = hostAddress;
    storeOffset[i] = offsetInStore;
    length[i] = len;
    region[i] = regionIndex;
    segments = i + 1;
    return true;
  }

  public int capacity() {
    return gpa.length;
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
    return gpa[segment];
  }

  /** Host address of the segment's first byte (already bounds-checked). */
  public long hostAddress(int segment) {
    return host[segment];
  }

  /** Offset of the segment in its region's store ({@code gpa - region.guestBase()}). */
  public long storeOffset(int segment) {
    return storeOffset[segment];
  }

  public int length(int segment) {
    return length[segment];
  }

  /** Index of the guest memory region holding the segment. */
  public int regionIndex(int segment) {
    return region[segment];
  }
}
