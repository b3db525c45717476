package dev.vdisk.virtio.driver;

import static dev.vdisk.virtio.pci.CommonCfg.*;
import static dev.vdisk.virtio.pci.PciHeader.*;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.VirtioPciCaps.Region;
import dev.vdisk.virtio.pci.PciFunction;
import dev.vdisk.virtio.pci.PciIdentity;
import dev.vdisk.virtio.pci.VirtioPciCap;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * An in-process virtio-blk driver that speaks to a PCI function only through its registers ({@link
 * PciFunction}: config space and BAR accesses), as a guest kernel does: it enumerates and checks
 * the identity (refusing anything but DEV_1042 REV_01, as aerovblk does), sizes and places the
 * BARs, walks the capability list, negotiates features, lays out split rings in guest memory with
 * {@link SplitRingDriver}, sets up MSI-X or INTx, submits block requests with {@link
 * BlkRingClient}, rings doorbells and completes requests from interrupts.
 *
 * <p>Two behaviours ({@link DriverBehaviour}): aerovblk's and Linux's. Requests complete only
 * through interrupts (the ISR after an INTx, or the queue's MSI-X vector), so the transport's
 * interrupt path is exercised for real; {@link #serviceInterrupts()} is the interrupt handler, run
 * on the caller's thread after the {@link InterruptLatch} recorded the interrupt.
 *
 * <p>Not thread-safe: one thread drives the driver (like a guest with one CPU).
 */
public final class PciVirtioBlkDriver {
  // Request types (virtio 1.2 §5.2.6).
  public static final int T_IN = 0;
  public static final int T_OUT = 1;
  public static final int T_FLUSH = 4;
  public static final int T_GET_ID = 8;
  public static final int T_GET_LIFETIME = 10;
  public static final int T_DISCARD = 11;
  public static final int T_WRITE_ZEROES = 13;
  public static final int T_SECURE_ERASE = 14;

  // virtio-blk feature bits (virtio 1.2 §5.2.3).
  public static final int F_SIZE_MAX = 1;
  public static final int F_SEG_MAX = 2;
  public static final int F_GEOMETRY = 4;
  public static final int F_RO = 5;
  public static final int F_BLK_SIZE = 6;
  public static final int F_FLUSH = 9;
  public static final int F_TOPOLOGY = 10;
  public static final int F_CONFIG_WCE = 11;
  public static final int F_MQ = 12;
  public static final int F_DISCARD = 13;
  public static final int F_WRITE_ZEROES = 14;
  public static final int F_LIFETIME = 15;
  public static final int F_SECURE_ERASE = 16;

  /** Exactly what aerovblk requires offered and negotiates. */
  public static final long AEROVBLK_FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1)
          | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
          | 1L << F_SEG_MAX
          | 1L << F_BLK_SIZE
          | 1L << F_FLUSH;

  /** What Linux 6.1's virtio_blk + virtio_ring accept when offered. */
  public static final long LINUX_FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1)
          | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
          | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
          | VirtioFeatures.bit(VirtioFeatures.RING_RESET)
          | 1L << F_SIZE_MAX
          | 1L << F_SEG_MAX
          | 1L << F_GEOMETRY
          | 1L << F_RO
          | 1L << F_BLK_SIZE
          | 1L << F_FLUSH
          | 1L << F_TOPOLOGY
          | 1L << F_CONFIG_WCE
          | 1L << F_MQ
          | 1L << F_DISCARD
          | 1L << F_WRITE_ZEROES
          | 1L << F_SECURE_ERASE;

  /** aerovblk's contract: BAR0 at least this big. */
  public static final long AERO_MIN_BAR = 0x4000;

  /** Guest page size: data buffers are split into page-sized segments, like a guest's SG list. */
  public static final int PAGE = 4096;

  private static final int AERO_QUEUE_SIZE = 128;
  private static final int AERO_MAX_SEGMENTS = 128;
  private static final int SECTOR = 512;

  private final PciFunction function;
  private final PciConfigAccess cfg;
  private final GuestMemory memory;
  private final GuestAllocator allocator;
  private final DriverBehaviour behaviour;
  private final InterruptLatch latch;
  private final int requestedQueues;
  private final int maxQueueSize;
  private final boolean wantMsix;
  private final int maxTransfer;
  private final long timeoutNanos;
  private final long window32;
  private final long window64;
  private final boolean place64High;
  private final boolean aeroStrict;
  private final long extraFeatures;

  private PciBar[] bars;
  private VirtioPciCaps caps;
  private long offered;
  private long negotiated;
  private long capacity;
  private int segMax;
  private int blkSize;
  private boolean msix;
  private int configVector = NO_VECTOR;
  private int messageCount;
  private long capacityChangeEvents;
  private long spuriousInterrupts;
  private Queue[] queues = new Queue[0];

  /** One virtqueue as the driver keeps it. */
  private static final class Queue {
    final int index;
    final SplitRingDriver ring;
    final BlkRingClient client;
    final long notifyOffset;
    final int vector;
    final long bounce;
    final int[] status;
    final int[] usedLen;
    final boolean[] done;

    Queue(
        int index,
        SplitRingDriver ring,
        BlkRingClient client,
        long notifyOffset,
        int vector,
        long bounce) {
      this.index = index;
      this.ring = ring;
      this.client = client;
      this.notifyOffset = notifyOffset;
      this.vector = vector;
      this.bounce = bounce;
      this.status = new int[ring.size()];
      this.usedLen = new int[ring.size()];
      this.done = new boolean[ring.size()];
    }
  }

  private PciVirtioBlkDriver(Builder b) {
    this.function = b.function;
    this.cfg = new PciConfigAccess(b.function);
    this.memory = b.memory;
    this.allocator = new GuestAllocator(b.dmaBase, b.dmaSize);
    this.behaviour = b.behaviour;
    this.latch = b.latch;
    this.requestedQueues = b.queues;
    this.maxQueueSize = b.maxQueueSize;
    this.wantMsix = b.msix;
    this.maxTransfer = b.maxTransfer;
    this.timeoutNanos = b.timeoutNanos;
    this.window32 = b.window32;
    this.window64 = b.window64;
    this.place64High = b.place64High;
    this.aeroStrict = b.aeroStrict;
    this.extraFeatures = b.extraFeatures;
  }

  public static Builder builder(PciFunction function, GuestMemory memory, InterruptLatch latch) {
    return new Builder(function, memory, latch);
  }

  // ================================================================ probe and initialisation

  /**
   * Probes and brings the device up to DRIVER_OK. Throws {@link DriverRefusedException} naming what
   * the real driver would have refused.
   */
  public PciVirtioBlkDriver initialize() {
    probeIdentity();
    bars = new BarAssigner(window32, window64, place64High).assign(cfg);
    cfg.write16(COMMAND, COMMAND_MEMORY | COMMAND_BUS_MASTER);
    caps = CapabilityWalker.walk(cfg, bars);
    if (behaviour == DriverBehaviour.AEROVBLK && aeroStrict) {
      checkAeroLayout();
    }
    allocator.reset();
    latch.clear();
    resetAndWait();
    status(STATUS_ACKNOWLEDGE);
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    negotiate();
    readConfig();
    setUpInterrupts();
    setUpQueues();
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return this;
  }

  private void probeIdentity() {
    int vendor = cfg.u16(VENDOR_ID);
    int device = cfg.u16(DEVICE_ID);
    int revision = cfg.u8(REVISION_ID);
    if (vendor != PciIdentity.VENDOR_ID || device != PciIdentity.DEVICE_ID) {
      throw new DriverRefusedException(
          String.format(
              "PCI\\VEN_%04X&DEV_%04X is not a modern virtio-blk function (expected:"
                  + " VEN_1AF4&DEV_1042)",
              vendor, device));
    }
    if (revision != PciIdentity.REVISION_ID) {
      throw new DriverRefusedException(
          String.format("revision 0x%02X (expected: REV_01, as aerovblk's INF)", revision));
    }
    if (behaviour == DriverBehaviour.AEROVBLK && cfg.u8(INTERRUPT_PIN) != 1) {
      throw new DriverRefusedException(
          "interrupt pin " + cfg.u8(INTERRUPT_PIN) + " (expected: 1, INTA#)");
    }
  }

  /** aerovblk's strict mode: BAR0 64-bit memory >= 0x4000 and the contract's fixed offsets. */
  private void checkAeroLayout() {
    PciBar bar0 = bars[0];
    if (bar0 == null || bar0.io() || !bar0.is64() || bar0.size() < AERO_MIN_BAR) {
      throw new DriverRefusedException(
          "BAR0 " + bar0 + " (expected: 64-bit memory BAR of at least 0x4000 bytes)");
    }
    expectRegion("common", caps.commonCfg(), 0x0000, 0x100);
    expectRegion("notify", caps.notifyCfg(), 0x1000, 0x100);
    expectRegion("isr", caps.isrCfg(), 0x2000, 0x20);
    expectRegion("device", caps.deviceCfg(), 0x3000, 0x100);
    if (caps.notifyMultiplier() != 4) {
      throw new DriverRefusedException(
          "notify_off_multiplier " + caps.notifyMultiplier() + " (expected: 4)");
    }
  }

  private static void expectRegion(String what, Region r, long offset, long minLength) {
    if (r == null || r.bar() != 0 || r.offset() != offset || r.length() < minLength) {
      throw new DriverRefusedException(
          String.format(
              "%s cfg %s (expected: BAR0 offset 0x%x, length >= 0x%x)",
              what, r, offset, minLength));
    }
  }

  private void resetAndWait() {
    status(0);
    for (int i = 0; i < 1000; i++) {
      if (status() == 0) {
        return;
      }
      Thread.onSpinWait();
    }
    throw new DriverRefusedException("device_status did not read 0 after reset");
  }

  private void negotiate() {
    w32(DEVICE_FEATURE_SELECT, 0);
    long lo = r32(DEVICE_FEATURE);
    w32(DEVICE_FEATURE_SELECT, 1);
    long hi = r32(DEVICE_FEATURE);
    offered = lo | hi << 32;
    if (!VirtioFeatures.has(offered, VirtioFeatures.VERSION_1)) {
      fail("device uses modern interface but does not have VIRTIO_F_VERSION_1");
    }
    long wanted;
    if (behaviour == DriverBehaviour.AEROVBLK) {
      long missing = AEROVBLK_FEATURES & ~offered;
      if (missing != 0) {
        fail(String.format("device does not offer required features 0x%x", missing));
      }
      wanted = AEROVBLK_FEATURES;
    } else {
      wanted = offered & (LINUX_FEATURES | extraFeatures);
    }
    w32(DRIVER_FEATURE_SELECT, 0);
    w32(DRIVER_FEATURE, wanted & 0xFFFF_FFFFL);
    w32(DRIVER_FEATURE_SELECT, 1);
    w32(DRIVER_FEATURE, wanted >>> 32);
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if ((status() & STATUS_FEATURES_OK) == 0) {
      fail(String.format("device refused features 0x%x (FEATURES_OK did not stick)", wanted));
    }
    negotiated = wanted;
  }

  private void fail(String why) {
    status(status() | STATUS_FAILED);
    throw new DriverRefusedException(why);
  }

  private void readConfig() {
    capacity = readCapacity();
    segMax = has(F_SEG_MAX) ? (int) deviceConfig(0x0C, 4) : 126;
    if (segMax <= 0) {
      fail("seg_max " + segMax + " (expected: > 0)");
    }
    if (behaviour == DriverBehaviour.AEROVBLK) {
      segMax = Math.min(segMax, AERO_MAX_SEGMENTS);
    }
    blkSize = has(F_BLK_SIZE) ? (int) deviceConfig(0x14, 4) : SECTOR;
  }

  /** capacity (le64) as two 32-bit reads inside a config_generation loop, as Linux does. */
  private long readCapacity() {
    for (int tries = 0; tries < 100; tries++) {
      int gen = r8(CONFIG_GENERATION);
      long v = deviceConfig(0, 4) | deviceConfig(4, 4) << 32;
      if (r8(CONFIG_GENERATION) == gen) {
        return v;
      }
    }
    throw new DriverRefusedException("config_generation never settled while reading capacity");
  }

  private boolean has(int feature) {
    return VirtioFeatures.has(negotiated, feature);
  }

  private int queueCountToUse() {
    if (behaviour == DriverBehaviour.AEROVBLK) {
      return 1;
    }
    int available = has(F_MQ) ? (int) deviceConfig(0x22, 2) : 1;
    int numQueues = r16(NUM_QUEUES);
    available = Math.max(1, Math.min(available, numQueues));
    return Math.min(requestedQueues, available);
  }

  private void setUpInterrupts() {
    msix = false;
    messageCount = 0;
    configVector = NO_VECTOR;
    if (behaviour == DriverBehaviour.LINUX && wantMsix && caps.msixCap() != 0) {
      int queuesWanted = queueCountToUse();
      int table = caps.msixTableSize();
      if (table >= 2) {
        // Linux: one vector for config + one per queue if the table allows, else config + shared.
        messageCount = table >= queuesWanted + 1 ? queuesWanted + 1 : 2;
        Region t = caps.msixTable();
        for (int v = 0; v < messageCount; v++) {
          long e = t.offset() + 16L * v;
          function.barWrite(t.bar(), e, 4, InterruptLatch.MSI_ADDRESS);
          function.barWrite(t.bar(), e + 4, 4, 0);
          function.barWrite(t.bar(), e + 8, 4, v);
          function.barWrite(t.bar(), e + 12, 4, 0); // unmask
        }
        cfg.write16(caps.msixCap() + VirtioPciCap.MSIX_MESSAGE_CONTROL, VirtioPciCap.MSIX_ENABLE);
        msix = true;
        w16(CONFIG_MSIX_VECTOR, 0);
        configVector = r16(CONFIG_MSIX_VECTOR);
        if (configVector == NO_VECTOR) {
          fail("config_msix_vector read back NO_VECTOR");
        }
      }
    }
  }

  private void setUpQueues() {
    int n = queueCountToUse();
    queues = new Queue[n];
    boolean indirect = behaviour == DriverBehaviour.AEROVBLK;
    boolean eventIdx = has(VirtioFeatures.RING_EVENT_IDX);
    for (int q = 0; q < n; q++) {
      w16(QUEUE_SELECT, q);
      int size = r16(QUEUE_SIZE);
      if (size == 0) {
        fail("queue " + q + " is unavailable (queue_size 0)");
      }
      if (behaviour == DriverBehaviour.AEROVBLK) {
        if (size != AERO_QUEUE_SIZE) {
          fail("queue 0 size " + size + " (expected: exactly 128)");
        }
      } else if (size > maxQueueSize) {
        size = maxQueueSize;
        w16(QUEUE_SIZE, size);
      }
      long ringBase = allocator.allocate(SplitRingDriver.bytesNeeded(size), PAGE);
      SplitRingDriver ring = SplitRingDriver.layout(memory, ringBase, size, eventIdx);
      if (indirect) {
        int entries = segMax + 2;
        long area = allocator.allocate(SplitRingDriver.indirectAreaBytes(size, entries), 16);
        ring.useIndirectArea(area, entries);
      }
      long slots = allocator.allocate(BlkRingClient.slotAreaBytes(size), 16);
      BlkRingClient client = new BlkRingClient(ring, slots, indirect);
      long bounce = allocator.allocate(maxTransfer, PAGE);
      writeAddress(QUEUE_DESC, ring.descAddr());
      writeAddress(QUEUE_DRIVER, ring.availAddr());
      writeAddress(QUEUE_DEVICE, ring.usedAddr());
      int vector = NO_VECTOR;
      if (msix) {
        vector = messageCount > n ? q + 1 : 1;
        w16(QUEUE_MSIX_VECTOR, vector);
        if (r16(QUEUE_MSIX_VECTOR) != vector) {
          fail("queue " + q + " MSI-X vector " + vector + " read back " + r16(QUEUE_MSIX_VECTOR));
        }
      }
      int notifyOff = r16(QUEUE_NOTIFY_OFF);
      if (behaviour == DriverBehaviour.AEROVBLK && q == 0 && notifyOff != 0) {
        fail("queue_notify_off(0) = " + notifyOff + " (expected: 0)");
      }
      long notifyOffset = (long) notifyOff * caps.notifyMultiplier();
      if (notifyOffset + 2 > caps.notifyCfg().length()) {
        fail(
            String.format(
                "queue %d doorbell 0x%x outside the notify window of 0x%x",
                q, notifyOffset, caps.notifyCfg().length()));
      }
      w16(QUEUE_ENABLE, 1);
      if (r16(QUEUE_ENABLE) != 1) {
        fail("queue " + q + " did not enable (status 0x" + Integer.toHexString(status()) + ")");
      }
      queues[q] = new Queue(q, ring, client, notifyOffset, vector, bounce);
    }
  }

  /** 64-bit queue address as two 32-bit writes, low half first (Linux vp_iowrite64_twopart). */
  private void writeAddress(int field, long value) {
    w32(field, value & 0xFFFF_FFFFL);
    w32(field + 4, value >>> 32);
  }

  // ================================================================ requests

  /**
   * Makes one request available on {@code queue} without kicking: a header, {@code dataLength}
   * bytes at {@code dataGpa} split into page segments (device-writable when {@code deviceWrites}),
   * and the status byte. Returns the head, or -1 when the ring is full.
   */
  public int submit(
      int queue, int type, long sector, long dataGpa, int dataLength, boolean deviceWrites) {
    Queue qs = queues[queue];
    BlkRingClient client = qs.client;
    client.begin();
    int segments = 0;
    long at = dataGpa;
    long end = dataGpa + dataLength;
    while (at < end) {
      long pageEnd = (at & -PAGE) + PAGE;
      int len = (int) (Math.min(pageEnd, end) - at);
      if (++segments > segMax) {
        client.ring().startChain();
        throw new IllegalArgumentException(
            dataLength + " bytes need more than seg_max " + segMax + " segments");
      }
      client.data(at, len, deviceWrites);
      at += len;
    }
    int head = client.submit(type, sector, sector);
    if (head >= 0) {
      qs.done[head] = false;
      qs.status[head] = BlkRingClient.STATUS_UNANSWERED;
    }
    return head;
  }

  /** Rings the doorbell of {@code queue} if the device wants it (avail_event / NO_NOTIFY). */
  public boolean kick(int queue) {
    Queue qs = queues[queue];
    if (!qs.ring.kickNeeded()) {
      return false;
    }
    Region n = caps.notifyCfg();
    function.barWrite(n.bar(), n.offset() + qs.notifyOffset, 2, queue);
    return true;
  }

  /** Waits for {@code head} of {@code queue} to complete; returns its status byte. */
  public int await(int queue, int head) {
    Queue qs = queues[queue];
    long deadline = System.nanoTime() + timeoutNanos;
    while (!qs.done[head]) {
      serviceInterrupts();
      if (qs.done[head]) {
        break;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IllegalStateException(
            String.format(
                "queue %d head %d not completed within %d ms (avail %d, used %d, device status"
                    + " 0x%x)",
                queue,
                head,
                TimeUnit.NANOSECONDS.toMillis(timeoutNanos),
                qs.ring.availIdx(),
                qs.ring.usedIdx(),
                status()));
      }
      try {
        latch.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for a completion", e);
      }
    }
    return qs.status[head];
  }

  /** True when {@code head} of {@code queue} completed since it was submitted. */
  public boolean isDone(int queue, int head) {
    return queues[queue].done[head];
  }

  /** Status byte of {@code head}'s completed request. */
  public int statusOf(int queue, int head) {
    return queues[queue].status[head];
  }

  /** used.len of {@code head}'s completed request. */
  public int usedLenOf(int queue, int head) {
    return queues[queue].usedLen[head];
  }

  /**
   * One request, synchronously, through the queue's bounce buffer: {@code out} (may be null) is the
   * device-readable payload, {@code in} (may be null) receives the device-writable payload. Returns
   * the status byte.
   */
  public int execute(int queue, int type, long sector, byte[] out, byte[] in) {
    Queue qs = queues[queue];
    int length = out != null ? out.length : in != null ? in.length : 0;
    if (length > maxTransfer) {
      throw new IllegalArgumentException(
          length + " bytes (expected: at most the bounce buffer of " + maxTransfer + ")");
    }
    if (out != null) {
      memory.write(qs.bounce, out, 0, out.length);
    }
    int head = submit(queue, type, sector, qs.bounce, length, in != null);
    if (head < 0) {
      throw new IllegalStateException("queue " + queue + " is full");
    }
    kick(queue);
    int status = await(queue, head);
    if (in != null) {
      memory.read(qs.bounce, in, 0, in.length);
    }
    return status;
  }

  public int read(int queue, long sector, byte[] dst) {
    return execute(queue, T_IN, sector, null, dst);
  }

  public int write(int queue, long sector, byte[] src) {
    return execute(queue, T_OUT, sector, src, null);
  }

  public int flush(int queue) {
    return execute(queue, T_FLUSH, 0, null, null);
  }

  /** GET_ID into {@code serial} (20 bytes). */
  public int getId(int queue, byte[] serial) {
    return execute(queue, T_GET_ID, 0, null, serial);
  }

  /** DISCARD / WRITE_ZEROES / SECURE_ERASE of one range. */
  public int rangeCommand(int queue, int type, long sector, int sectors, int flags) {
    byte[] seg = new byte[16];
    for (int i = 0; i < 8; i++) {
      seg[i] = (byte) (sector >>> (8 * i));
    }
    for (int i = 0; i < 4; i++) {
      seg[8 + i] = (byte) (sectors >>> (8 * i));
      seg[12 + i] = (byte) (flags >>> (8 * i));
    }
    return execute(queue, type, 0, seg, null);
  }

  // ================================================================ interrupts

  /**
   * The interrupt handler: for INTx, while the line is asserted read the ISR (which acknowledges
   * it) and act on its bits; for MSI-X, act on each pending vector. Returns the number of
   * interrupts handled.
   */
  public int serviceInterrupts() {
    int handled = 0;
    if (!msix) {
      while (latch.intxAsserted()) {
        int isr = readIsr();
        if (isr == 0) {
          spuriousInterrupts++; // shared line, "not mine" as aerovblk answers
          break;
        }
        if ((isr & 1) != 0) {
          for (Queue q : queues) {
            drain(q);
          }
        }
        if ((isr & 2) != 0) {
          configChanged();
        }
        handled++;
      }
      return handled;
    }
    if (latch.takeVector(configVector)) {
      configChanged();
      handled++;
    }
    boolean shared = messageCount <= queues.length;
    for (Queue q : queues) {
      if (shared) {
        if (q.index == 0 && latch.takeVector(1)) {
          for (Queue each : queues) {
            drain(each);
          }
          handled++;
        }
      } else if (latch.takeVector(q.vector)) {
        drain(q);
        handled++;
      }
    }
    return handled;
  }

  private void drain(Queue q) {
    SplitRingDriver ring = q.ring;
    boolean linux = behaviour == DriverBehaviour.LINUX;
    do {
      if (linux) {
        ring.disableInterrupts();
      }
      int head;
      while ((head = ring.pollUsed()) >= 0) {
        q.status[head] = q.client.status(head);
        q.usedLen[head] = ring.lastUsedLen();
        q.done[head] = true;
      }
    } while (linux ? ring.enableInterrupts() : false);
  }

  private void configChanged() {
    capacityChangeEvents++;
    if ((status() & STATUS_NEEDS_RESET) == 0) {
      capacity = readCapacity();
    }
  }

  private int readIsr() {
    Region r = caps.isrCfg();
    return (int) function.barRead(r.bar(), r.offset(), 1) & 0xFF;
  }

  // ================================================================ reset and state

  /**
   * Resets the device (device_status 0, waiting until it reads 0): every request in flight is
   * abandoned, as a driver's reset handler does. {@link #initialize()} brings it up again.
   */
  public void resetDevice() {
    resetAndWait();
    latch.clear();
  }

  /** The aerovblk QUERY_INFO view of this driver (queue 0). */
  public DriverQueryInfo queryInfo() {
    SplitRingDriver ring = queues.length > 0 ? queues[0].ring : null;
    return new DriverQueryInfo(
        negotiated,
        ring == null ? 0 : ring.size(),
        ring == null ? 0 : ring.numFree(),
        ring == null ? 0 : ring.availIdx(),
        ring == null ? 0 : ring.lastUsedIdx(),
        msix ? 1 : 0,
        msix ? configVector : NO_VECTOR,
        msix && queues.length > 0 ? queues[0].vector : NO_VECTOR,
        messageCount,
        capacityChangeEvents);
  }

  public int status() {
    return r8(DEVICE_STATUS);
  }

  private void status(int value) {
    w8(DEVICE_STATUS, value);
  }

  public long capacity() {
    return capacity;
  }

  public int segMax() {
    return segMax;
  }

  public int blkSize() {
    return blkSize;
  }

  public long offeredFeatures() {
    return offered;
  }

  public long negotiatedFeatures() {
    return negotiated;
  }

  public int queueCount() {
    return queues.length;
  }

  public boolean usesMsix() {
    return msix;
  }

  public long spuriousInterrupts() {
    return spuriousInterrupts;
  }

  public PciBar[] bars() {
    return bars.clone();
  }

  public VirtioPciCaps caps() {
    return caps;
  }

  /** The ring of {@code queue}, for tests that build hostile chains by hand. */
  public SplitRingDriver ring(int queue) {
    return queues[queue].ring;
  }

  /** Guest address of {@code queue}'s bounce buffer ({@code maxTransfer} bytes). */
  public long bounceBuffer(int queue) {
    return queues[queue].bounce;
  }

  /** Reads {@code size} bytes of device-specific config at {@code offset}. */
  public long deviceConfig(int offset, int size) {
    Region r = caps.deviceCfg();
    if (r == null) {
      throw new DriverRefusedException("no device config capability");
    }
    return function.barRead(r.bar(), r.offset() + offset, size) & mask(size);
  }

  /** Writes device-specific config (the writeback byte, for instance). */
  public void writeDeviceConfig(int offset, int size, long value) {
    Region r = caps.deviceCfg();
    function.barWrite(r.bar(), r.offset() + offset, size, value);
  }

  // ================================================================ common cfg accessors

  private static long mask(int size) {
    return size == 8 ? -1L : (1L << (8 * size)) - 1;
  }

  private long common(int off, int size) {
    Region r = caps.commonCfg();
    return function.barRead(r.bar(), r.offset() + off, size) & mask(size);
  }

  private void common(int off, int size, long value) {
    Region r = caps.commonCfg();
    function.barWrite(r.bar(), r.offset() + off, size, value);
  }

  private int r8(int off) {
    return (int) common(off, 1);
  }

  private int r16(int off) {
    return (int) common(off, 2);
  }

  private long r32(int off) {
    return common(off, 4);
  }

  private void w8(int off, int v) {
    common(off, 1, v);
  }

  private void w16(int off, int v) {
    common(off, 2, v);
  }

  private void w32(int off, long v) {
    common(off, 4, v);
  }

  /** Options; validated at {@link #build()}. */
  public static final class Builder {
    private final PciFunction function;
    private final GuestMemory memory;
    private final InterruptLatch latch;
    private DriverBehaviour behaviour = DriverBehaviour.LINUX;
    private long dmaBase = -1;
    private long dmaSize;
    private int queues = 1;
    private int maxQueueSize = 32768;
    private boolean msix = true;
    private int maxTransfer = 128 * 1024;
    private long timeoutNanos = TimeUnit.SECONDS.toNanos(10);
    private long window32 = 0xE000_0000L;
    private long window64 = 0x80_0000_0000L;
    private boolean place64High;
    private boolean aeroStrict = true;
    private long extraFeatures;

    private Builder(PciFunction function, GuestMemory memory, InterruptLatch latch) {
      this.function = Objects.requireNonNull(function, "function");
      this.memory = Objects.requireNonNull(memory, "memory");
      this.latch = Objects.requireNonNull(latch, "latch");
    }

    public Builder behaviour(DriverBehaviour behaviour) {
      this.behaviour = Objects.requireNonNull(behaviour, "behaviour");
      return this;
    }

    /** Guest memory the driver may use for rings, tables and bounce buffers. */
    public Builder dmaArea(long base, long size) {
      this.dmaBase = base;
      this.dmaSize = size;
      return this;
    }

    /** Queues to use (Linux behaviour; capped by what the device offers). */
    public Builder queues(int queues) {
      if (queues < 1) {
        throw new IllegalArgumentException("queues " + queues + " (expected: >= 1)");
      }
      this.queues = queues;
      return this;
    }

    /** Largest ring the driver sets up (Linux behaviour lowers queue_size to it). */
    public Builder maxQueueSize(int size) {
      if (size < 1 || Integer.bitCount(size) != 1) {
        throw new IllegalArgumentException("max queue size " + size + " (expected: power of 2)");
      }
      this.maxQueueSize = size;
      return this;
    }

    /** Whether the Linux behaviour uses MSI-X when the function has it (else INTx). */
    public Builder msix(boolean msix) {
      this.msix = msix;
      return this;
    }

    /** Bounce-buffer size per queue, a multiple of the page size. */
    public Builder maxTransfer(int bytes) {
      if (bytes < PAGE || bytes % PAGE != 0) {
        throw new IllegalArgumentException(
            "max transfer " + bytes + " (expected: a multiple of " + PAGE + ")");
      }
      this.maxTransfer = bytes;
      return this;
    }

    public Builder timeout(long amount, TimeUnit unit) {
      this.timeoutNanos = unit.toNanos(amount);
      return this;
    }

    /** Where BARs are placed: below 4 GiB, and above it for 64-bit BARs when asked (OVMF). */
    public Builder barWindows(long window32, long window64, boolean place64High) {
      this.window32 = window32;
      this.window64 = window64;
      this.place64High = place64High;
      return this;
    }

    /**
     * aerovblk's strict layout check (its default build): BAR0 64-bit of at least 0x4000 with the
     * contract's fixed offsets. Off, the aerovblk behaviour takes the layout the capabilities
     * describe, as its non-strict build does; identity, queue size 128 and features still apply.
     */
    public Builder aeroStrictLayout(boolean strict) {
      this.aeroStrict = strict;
      return this;
    }

    /** Feature bits the Linux behaviour accepts (when offered) besides {@link #LINUX_FEATURES}. */
    public Builder extraFeatures(long features) {
      this.extraFeatures = features;
      return this;
    }

    public PciVirtioBlkDriver build() {
      if (dmaBase < 0 || memory.regionIndex(dmaBase, dmaSize) < 0) {
        throw new IllegalArgumentException(
            String.format(
                "DMA area 0x%x+0x%x (expected: inside one region of %s)",
                dmaBase, dmaSize, memory.describeRanges()));
      }
      return new PciVirtioBlkDriver(this);
    }
  }
}
