package dev.vdisk.virtio.blk;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.testing.RecordingNotifier;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest for device tests: guest memory, one {@link SplitRingDriver} + {@link BlkRingClient} per
 * queue, and a bump allocator for data buffers. Plays the role of the transport too: negotiates
 * (accepts every offered feature minus the ones a test masks), activates, and forwards kicks.
 */
final class BlkHarness implements AutoCloseable {
  static final long MEM_BASE = 0x100000;

  final GuestMemory memory;
  final VirtioBlkDevice device;
  final RecordingNotifier notifier = new RecordingNotifier();
  final SplitRingDriver[] rings;
  final BlkRingClient[] clients;
  final long features;
  private long next;
  private final long end;

  /** Indirect tables get this many entries per head. */
  static final int INDIRECT_ENTRIES = 130;

  BlkHarness(VirtioBlkDevice device, long featureMask, boolean indirect, long memBytes) {
    this.device = device;
    this.memory = GuestMemory.allocate(MEM_BASE, memBytes);
    this.next = MEM_BASE;
    this.end = MEM_BASE + memBytes;
    this.features = device.deviceFeatures() & featureMask;
    boolean eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
    int queues = VirtioFeatures.has(features, BlkFeatures.MQ) ? device.queueCount() : 1;
    int size = device.maxQueueSize();
    rings = new SplitRingDriver[queues];
    clients = new BlkRingClient[queues];
    List<QueueSetup> setups = new ArrayList<>();
    for (int q = 0; q < queues; q++) {
      long ringBase = alloc(SplitRingDriver.bytesNeeded(size), 4096);
      rings[q] = SplitRingDriver.layout(memory, ringBase, size, eventIdx);
      long ind = alloc(SplitRingDriver.indirectAreaBytes(size, INDIRECT_ENTRIES), 16);
      rings[q].useIndirectArea(ind, INDIRECT_ENTRIES);
      long slots = alloc(BlkRingClient.slotAreaBytes(size), 16);
      clients[q] = new BlkRingClient(rings[q], slots, indirect);
      setups.add(rings[q].queueSetup(q));
    }
    assertNull(device.validateFeatures(features));
    device.activate(features, memory, setups, notifier);
  }

  static BlkHarness of(VirtioBlkDevice device) {
    return new BlkHarness(device, -1L, false, 16 << 20);
  }

  private static void assertNull(String s) {
    if (s != null) {
      throw new AssertionError(s);
    }
  }

  long alloc(long bytes, int align) {
    long a = (next + align - 1) & -(long) align;
    if (a + bytes > end) {
      throw new IllegalStateException("harness memory exhausted");
    }
    next = a + bytes;
    return a;
  }

  /** Fills guest memory with a pattern derived from {@code seed}. */
  void fill(long gpa, int len, int seed) {
    byte[] b = new byte[len];
    for (int i = 0; i < len; i++) {
      b[i] = (byte) (seed * 31 + i * 7 + (i >>> 9));
    }
    memory.write(gpa, b, 0, len);
  }

  byte[] bytes(long gpa, int len) {
    byte[] b = new byte[len];
    memory.read(gpa, b, 0, len);
    return b;
  }

  /**
   * Submits one request with the given data buffers on queue {@code q} and returns its head (no
   * kick). {@code dataWritable} is the direction of every data buffer.
   */
  int submit(int q, int type, long sector, long[] bufs, int[] lens, boolean dataWritable) {
    BlkRingClient c = clients[q];
    c.begin();
    for (int i = 0; i < bufs.length; i++) {
      c.data(bufs[i], lens[i], dataWritable);
    }
    int head = c.submit(type, sector, 0);
    if (head < 0) {
      throw new IllegalStateException("ring full");
    }
    return head;
  }

  /** Submits, kicks, and returns the status of one request (which must complete synchronously). */
  int request(int q, int type, long sector, long[] bufs, int[] lens, boolean dataWritable) {
    int head = submit(q, type, sector, bufs, lens, dataWritable);
    device.queueNotified(q);
    int got = rings[q].pollUsed();
    if (got != head) {
      throw new AssertionError("expected head " + head + " back, got " + got);
    }
    return clients[q].status(head);
  }

  int read(long sector, long buf, int len) {
    return request(0, BlkRequestType.IN, sector, new long[] {buf}, new int[] {len}, true);
  }

  int write(long sector, long buf, int len) {
    return request(0, BlkRequestType.OUT, sector, new long[] {buf}, new int[] {len}, false);
  }

  int simple(int type, long sector) {
    return request(0, type, sector, new long[0], new int[0], false);
  }

  /** Writes a DISCARD/WRITE_ZEROES/SECURE_ERASE range list into guest memory. */
  long ranges(long[][] ranges) {
    long a = alloc(16L * ranges.length, 16);
    for (int i = 0; i < ranges.length; i++) {
      memory.putU64(a + 16L * i, ranges[i][0]);
      memory.putU32(a + 16L * i + 8, ranges[i][1]);
      memory.putU32(a + 16L * i + 12, ranges[i][2]);
    }
    return a;
  }

  BlkQueueStatsSnapshot stats(int q) {
    return device.stats().queue(q);
  }

  @Override
  public void close() {
    device.reset();
    memory.close();
  }
}
