package dev.vdisk.virtio.queue;

/**
 * Layout of a split virtqueue (virtio 1.2 "Split Virtqueues"; vdisk spec section 7.1), shared by
 * the device ({@link SplitQueue}) and the driver model. All fields little-endian.
 *
 * <pre>
 * Descriptor table (align 16), N entries of 16 bytes:
 *   +0  le64 addr    +8  le32 len    +12 le16 flags (NEXT 1, WRITE 2, INDIRECT 4)    +14 le16 next
 *
 * Available ring (align 2), driver-written:
 *   +0  le16 flags (NO_INTERRUPT 1)   +2  le16 idx   +4  le16 ring[N]   +4+2N  le16 used_event (EVENT_IDX)
 *
 * Used ring (align 4), device-written:
 *   +0  le16 flags (NO_NOTIFY 1)      +2  le16 idx   +4  {le32 id, le32 len}[N]   +4+8N  le16 avail_event (EVENT_IDX)
 * </pre>
 *
 * Indices run free and wrap at 2^16; the slot of index {@code i} is {@code i & (N - 1)}.
 */
public final class SplitRing {
  /** Largest split queue size: a 16-bit index must tell a full ring from an empty one. */
  public static final int MAX_QUEUE_SIZE = 32768;

  public static final int DESC_SIZE = 16;
  public static final int DESC_ADDR_OFFSET = 0;
  public static final int DESC_LEN_OFFSET = 8;
  public static final int DESC_FLAGS_OFFSET = 12;
  public static final int DESC_NEXT_OFFSET = 14;

  /** The chain continues at {@code next}. */
  public static final int DESC_F_NEXT = 1;

  /** The buffer is device-writable (otherwise device-readable). */
  public static final int DESC_F_WRITE = 2;

  /** The buffer holds a table of descriptors (INDIRECT_DESC). */
  public static final int DESC_F_INDIRECT = 4;

  public static final int AVAIL_FLAGS_OFFSET = 0;
  public static final int AVAIL_IDX_OFFSET = 2;
  public static final int AVAIL_RING_OFFSET = 4;
  public static final int AVAIL_ELEM_SIZE = 2;

  /** avail.flags bit: the driver does not want used-buffer notifications (without EVENT_IDX). */
  public static final int AVAIL_F_NO_INTERRUPT = 1;

  public static final int USED_FLAGS_OFFSET = 0;
  public static final int USED_IDX_OFFSET = 2;
  public static final int USED_RING_OFFSET = 4;
  public static final int USED_ELEM_SIZE = 8;
  public static final int USED_ELEM_ID_OFFSET = 0;
  public static final int USED_ELEM_LEN_OFFSET = 4;

  /**
   * used.flags bit: the device does not want available-buffer notifications (without EVENT_IDX).
   */
  public static final int USED_F_NO_NOTIFY = 1;

  public static final int DESC_ALIGN = 16;
  public static final int AVAIL_ALIGN = 2;
  public static final int USED_ALIGN = 4;

  private SplitRing() {}

  /** True for 1, 2, 4 ... 32768. */
  public static boolean isValidSize(int size) {
    return size > 0 && size <= MAX_QUEUE_SIZE && Integer.bitCount(size) == 1;
  }

  public static long descTableBytes(int size) {
    return (long) DESC_SIZE * size;
  }

  /** Available ring size; the trailing used_event exists only with EVENT_IDX. */
  public static long availRingBytes(int size, boolean eventIdx) {
    return AVAIL_RING_OFFSET + (long) AVAIL_ELEM_SIZE * size + (eventIdx ? 2 : 0);
  }

  /** Used ring size; the trailing avail_event exists only with EVENT_IDX. */
  public static long usedRingBytes(int size, boolean eventIdx) {
    return USED_RING_OFFSET + (long) USED_ELEM_SIZE * size + (eventIdx ? 2 : 0);
  }

  /** Offset of used_event inside the available ring. */
  public static long usedEventOffset(int size) {
    return AVAIL_RING_OFFSET + (long) AVAIL_ELEM_SIZE * size;
  }

  /** Offset of avail_event inside the used ring. */
  public static long availEventOffset(int size) {
    return USED_RING_OFFSET + (long) USED_ELEM_SIZE * size;
  }

  /**
   * The event-index test (virtio "vring_need_event"): true when the index moved from {@code old} to
   * {@code next} across {@code event}, i.e. the other side asked to hear about entry {@code event}
   * and it is among the ones just published. All arithmetic modulo 2^16.
   */
  public static boolean needEvent(int event, int next, int old) {
    return ((next - event - 1) & 0xffff) < ((next - old) & 0xffff);
  }
}
