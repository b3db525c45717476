package dev.vdisk.virtio.driver;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.queue.HostMemory;

/**
 * Builds virtio-blk requests on a {@link SplitRingDriver}, the way Linux's virtio_blk and aerovblk
 * frame them: a 16-byte header descriptor (device-readable), the data descriptors, and a 1-byte
 * status descriptor (device-writable). Each head owns a 32-byte slot in guest memory holding its
 * header at +0 and its status byte at +16 (aerovblk keeps both in one page the same way); the
 * status is pre-set to 0xFF so a request the device never answered is visible.
 *
 * <p>Allocation-free after construction. Not thread-safe (one per queue, like the ring).
 */
public final class BlkRingClient {
  /** Bytes per head in the slot area. */
  public static final int SLOT_SIZE = 32;

  public static final int HEADER_SIZE = 16;
  public static final int STATUS_OFFSET = 16;

  /** Status value a request has before the device answers. */
  public static final int STATUS_UNANSWERED = 0xFF;

  private final SplitRingDriver ring;
  private final long slotAddr;
  private final long slotHost;
  private final boolean indirect;

  /**
   * @param ring the queue
   * @param slotArea guest address of {@code ring.size() * SLOT_SIZE} writable bytes
   * @param indirect wrap every request in one indirect table (the ring must have an indirect area
   *     with room for the data segments + 2)
   */
  public BlkRingClient(SplitRingDriver ring, long slotArea, boolean indirect) {
    this.ring = ring;
    this.slotAddr = slotArea;
    this.slotHost = ring.memory().hostAddressForWrite(slotArea, slotAreaBytes(ring.size()));
    this.indirect = indirect;
  }

  public static long slotAreaBytes(int queueSize) {
    return (long) queueSize * SLOT_SIZE;
  }

  public SplitRingDriver ring() {
    return ring;
  }

  /**
   * Starts a request: the caller then adds data buffers with {@link #data} and finishes with {@link
   * #submit}. The header is written only at submit, into the slot of the head the ring picks.
   */
  public void begin() {
    ring.startChain();
    // Placeholder for the header; its address is patched in at submit (the head is not known yet).
    ring.addReadable(0, HEADER_SIZE);
  }

  /** Adds one data buffer (device-writable for reads and GET_ID, readable for writes). */
  public void data(long gpa, int length, boolean deviceWritable) {
    if (deviceWritable) {
      ring.addWritable(gpa, length);
    } else {
      ring.addReadable(gpa, length);
    }
  }

  /**
   * Writes the header, adds the status descriptor and makes the request available. Returns the
   * head, or -1 when the ring is full (the request is dropped then; call {@link #begin} again).
   */
  public int submit(int type, long sector, long token) {
    // The ring publishes at submit, so the header must be in place before: the head a submit will
    // use is the ring's next free descriptor, and that head's slot is free too.
    int head = ring.peekFreeHead();
    if (head < 0) {
      ring.startChain();
      return -1;
    }
    long slot = slotHost + (long) head * SLOT_SIZE;
    HostMemory.putU32(slot, type);
    HostMemory.putU32(slot + 4, 0);
    HostMemory.putU64(slot + 8, sector);
    HostMemory.putU8(slot + STATUS_OFFSET, STATUS_UNANSWERED);
    ring.patchPending(0, slotAddr + (long) head * SLOT_SIZE);
    ring.addWritable(slotAddr + (long) head * SLOT_SIZE + STATUS_OFFSET, 1);
    int got = indirect ? ring.submitIndirect(token) : ring.submitDirect(token);
    if (got >= 0 && got != head) {
      throw new IllegalStateException("ring used head " + got + ", expected " + head);
    }
    return got;
  }

  /** Status byte of {@code head}'s last request (0xFF until the device wrote it). */
  public int status(int head) {
    return HostMemory.u8(slotHost + (long) head * SLOT_SIZE + STATUS_OFFSET);
  }

  /** Guest address of {@code head}'s header slot. */
  public long slotAddr(int head) {
    return slotAddr + (long) head * SLOT_SIZE;
  }

  public GuestMemory memory() {
    return ring.memory();
  }
}
