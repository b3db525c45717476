package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.queue.HostMemory;

/**
 * One queue's worth of guest memory laid out the way a guest driver would: the split ring (size
 * {@link #QUEUE_SIZE}, EVENT_IDX), one indirect table per head, the per-head header/status slots of
 * {@link BlkRingClient}, DISCARD segments and a pool of {@link Workload#BUFFERS} data buffers.
 *
 * <pre>
 * queue base + 0x000000  ring (descriptors, avail, used)       ~7 KiB
 *            + 0x010000  indirect tables, 4 entries per head    16 KiB
 *            + 0x020000  header/status slots, 32 B per head      8 KiB
 *            + 0x028000  DISCARD segments, 16 B per head         4 KiB
 *            + 0x100000  data buffers, 32 x request size        <= 2 MiB
 * </pre>
 *
 * <p>Chains are built once, through the driver model, for slots 0..{@link #chains()}-1: slot {@code
 * c} targets {@link Workload#randomOffsets}[c] with buffer {@code c % 32}. A direct ring holds 64
 * chains (a 3-descriptor chain each; 64 is the largest power of two that fits 256 descriptors), an
 * indirect ring 256. Because the chain count divides the ring size, available slot {@code i} always
 * carries head {@code c = i % chains}, so {@link #prefillAvailRing} writes the whole available ring
 * once and a batch afterwards only moves avail.idx.
 */
public final class RingFixture {
  public static final int QUEUE_SIZE = 256;

  /** Guest memory each queue's fixture occupies. */
  public static final long SPAN = 4L << 20;

  static final long INDIRECT_OFFSET = 0x10000;
  static final long SLOTS_OFFSET = 0x20000;
  static final long SEGMENTS_OFFSET = 0x28000;
  static final long DATA_OFFSET = 0x100000;
  static final int INDIRECT_ENTRIES = 4;

  /** Direct chains that fit a 256-entry table: 3 descriptors each, rounded to a power of two. */
  public static final int DIRECT_CHAINS = 64;

  // virtio-blk request types (virtio 1.2 section 5.2.6).
  static final int T_IN = 0;
  static final int T_OUT = 1;
  static final int T_FLUSH = 4;
  static final int T_DISCARD = 11;

  static final int SECTOR_SHIFT = 9;
  static final int DISCARD_SEGMENT_SIZE = 16;

  private final GuestMemory memory;
  private final long base;
  private final BlkWorkload workload;
  private final boolean indirect;
  private final SplitRingDriver ring;
  private final BlkRingClient client;
  private final long[] offsets;
  private final int[] heads;

  /**
   * Lays out queue {@code queueIndex}'s memory at {@code queueIndex * SPAN} and writes the DISCARD
   * segments (the chains themselves are built by {@link #submitAll}). With {@code retain} the
   * driver keeps completed chains for {@link SplitRingDriver#resubmit}; without, it frees them.
   */
  public RingFixture(
      GuestMemory memory, int queueIndex, BlkWorkload workload, boolean indirect, boolean retain) {
    this.memory = memory;
    this.base = queueIndex * SPAN;
    this.workload = workload;
    this.indirect = indirect;
    this.ring = SplitRingDriver.layout(memory, base, QUEUE_SIZE, true);
    if (indirect) {
      ring.useIndirectArea(base + INDIRECT_OFFSET, INDIRECT_ENTRIES);
    }
    ring.retainChains(retain);
    this.client = new BlkRingClient(ring, base + SLOTS_OFFSET, indirect);
    this.offsets = Workload.randomOffsets(workload.size == 0 ? 512 : workload.size);
    this.heads = new int[chains()];
    for (int c = 0; c < chains(); c++) {
      long segment = base + SEGMENTS_OFFSET + (long) c * DISCARD_SEGMENT_SIZE;
      memory.putU64(segment, offsets[c] >>> SECTOR_SHIFT);
      memory.putU32(segment + 8, Math.max(workload.size, 512) >>> SECTOR_SHIFT);
      memory.putU32(segment + 12, 0);
    }
    if (DATA_OFFSET + (long) Workload.BUFFERS * workload.size > SPAN) {
      throw new IllegalArgumentException("request size " + workload.size + " too large for SPAN");
    }
  }

  /** Parses the {@code layout} benchmark parameter. */
  public static boolean indirect(String layout) {
    return switch (layout) {
      case "DIRECT" -> false;
      case "INDIRECT" -> true;
      default ->
          throw new IllegalArgumentException("layout " + layout + " (expected DIRECT or INDIRECT)");
    };
  }

  /**
   * Refuses a queue depth the ring cannot hold: 256 direct chains of 3 descriptors need 768
   * descriptors, three times what a 256-entry table has (Linux switches to indirect there too).
   */
  public static void checkDepth(int queueDepth, int chains, String layout) {
    if (queueDepth > chains) {
      throw new IllegalArgumentException(
          "queue depth "
              + queueDepth
              + " with "
              + layout
              + " chains: the ring holds only "
              + chains
              + " (use INDIRECT for depth 256)");
    }
  }

  /** Chains the ring holds at once. */
  public int chains() {
    return indirect ? QUEUE_SIZE : DIRECT_CHAINS;
  }

  public SplitRingDriver ring() {
    return ring;
  }

  public BlkRingClient client() {
    return client;
  }

  public QueueSetup queueSetup(int queueIndex) {
    return ring.queueSetup(queueIndex);
  }

  /** Guest address of data buffer {@code b}. */
  public long buffer(int b) {
    return base + DATA_OFFSET + (long) b * workload.size;
  }

  /**
   * Builds and makes available the request of slot {@code c} through the driver model (header,
   * data, status; direct or indirect). Returns the head.
   */
  public int submit(int c) {
    client.begin();
    int type;
    long sector = 0;
    switch (workload.kind) {
      case READ, WRITE, MIXED -> {
        boolean read = workload.isRead(c);
        client.data(buffer(c & (Workload.BUFFERS - 1)), workload.size, read);
        type = read ? T_IN : T_OUT;
        sector = offsets[c] >>> SECTOR_SHIFT;
      }
      case FLUSH -> type = T_FLUSH;
      case DISCARD -> {
        client.data(
            base + SEGMENTS_OFFSET + (long) c * DISCARD_SEGMENT_SIZE, DISCARD_SEGMENT_SIZE, false);
        type = T_DISCARD;
      }
      default -> throw new IllegalStateException("workload " + workload);
    }
    int head = client.submit(type, sector, c);
    if (head < 0) {
      throw new IllegalStateException("ring full at slot " + c + " of " + chains());
    }
    return head;
  }

  public int head(int c) {
    return heads[c];
  }

  /** Builds every chain once and makes them available (avail.idx advances by {@link #chains}). */
  public void submitAll() {
    for (int c = 0; c < chains(); c++) {
      heads[c] = submit(c);
    }
  }

  /**
   * Writes head {@code heads[i % chains]} into every available-ring slot, so that moving avail.idx
   * by any amount publishes the chains in slot order.
   */
  public void prefillAvailRing() {
    for (int i = 0; i < QUEUE_SIZE; i++) {
      ring.putAvailRing(i, heads[i % chains()]);
    }
  }

  /**
   * Checks that every built request completed with status OK (0); throws naming the first that did
   * not. Used after warm-up so a benchmark never times a device that rejects its requests.
   */
  public void checkStatuses() {
    for (int c = 0; c < chains(); c++) {
      int status = client.status(heads[c]);
      if (status != 0) {
        throw new IllegalStateException(
            "request of slot "
                + c
                + " (head "
                + heads[c]
                + ", "
                + workload
                + (indirect ? ", indirect" : ", direct")
                + ") completed with status "
                + status
                + " (expected 0 = OK)");
      }
    }
  }

  /** Sets every status byte back to 0xFF so {@link #checkStatuses} proves the device wrote it. */
  public void clearStatuses() {
    for (int c = 0; c < chains(); c++) {
      HostMemory.putU8(
          memory.hostAddressForWrite(client.slotAddr(heads[c]) + BlkRingClient.STATUS_OFFSET, 1),
          BlkRingClient.STATUS_UNANSWERED);
    }
  }
}
