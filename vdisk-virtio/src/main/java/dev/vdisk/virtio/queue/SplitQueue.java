package dev.vdisk.virtio.queue;

import static dev.vdisk.virtio.queue.SplitRing.AVAIL_ELEM_SIZE;
import static dev.vdisk.virtio.queue.SplitRing.AVAIL_FLAGS_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.AVAIL_F_NO_INTERRUPT;
import static dev.vdisk.virtio.queue.SplitRing.AVAIL_IDX_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.AVAIL_RING_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.DESC_ADDR_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.DESC_FLAGS_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_INDIRECT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_NEXT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_WRITE;
import static dev.vdisk.virtio.queue.SplitRing.DESC_LEN_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.DESC_NEXT_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.DESC_SIZE;
import static dev.vdisk.virtio.queue.SplitRing.USED_ELEM_ID_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.USED_ELEM_LEN_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.USED_ELEM_SIZE;
import static dev.vdisk.virtio.queue.SplitRing.USED_FLAGS_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.USED_F_NO_NOTIFY;
import static dev.vdisk.virtio.queue.SplitRing.USED_IDX_OFFSET;
import static dev.vdisk.virtio.queue.SplitRing.USED_RING_OFFSET;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The device side of a split virtqueue (virtio 1.2 "Split Virtqueues").
 *
 * <p>The three rings are checked once at {@link #activate}: size, alignment, and that each part
 * lies wholly inside one guest memory region (the used ring in a writable one). Their host
 * addresses are kept, so ring accesses afterwards cost no region lookup. Each descriptor buffer
 * costs one {@code regionIndex} lookup; indirect tables are checked and translated once per chain.
 *
 * <p>Chain walking follows rust-vmm's {@code virtio-queue} rules plus QEMU's and Cloud Hypervisor's
 * extra checks; every rule is a {@link QueueError} constant with a counter. See {@link Virtqueue}
 * for threading and for what the caller does with each outcome.
 *
 * <p>Memory ordering (vdisk spec section 7.5): acquire after loading avail.idx, release before
 * storing used.idx, full fences between publishing used.idx and reading used_event/avail.flags, and
 * between writing avail_event/used.flags and re-reading avail.idx. avail_event and used_event are
 * only touched when EVENT_IDX was negotiated: without it those bytes may not even belong to the
 * ring.
 */
public final class SplitQueue implements Virtqueue {
  /** Default cap on descriptors per chain beyond the queue size (QEMU's VIRTQUEUE_MAX_SIZE). */
  public static final int DEFAULT_MAX_CHAIN = 1024;

  /**
   * Longest single segment: buffers are cut here so lengths fit an {@code int} (a descriptor may be
   * up to 4 GiB - 1).
   */
  static final long MAX_SEGMENT_BYTES = 1L << 30;

  private static final VarHandle BYTES = MethodHandles.arrayElementVarHandle(byte[].class);

  // Indices into stats.
  private static final int STAT_INTERRUPTS_SENT = 0;
  private static final int STAT_INTERRUPTS_SUPPRESSED = 1;
  private static final int STAT_USED_NOT_IN_FLIGHT = 2;
  private static final int STAT_LAST_AVAIL = 3;
  private static final int STAT_COUNT = 4;

  // Per-request progress lives in plain int fields written by their one owner and read by others
  // through these handles (an int is never torn). Array-element VarHandles for the same four values
  // and acquire/release in-flight bytes cost the queue layer ~10 ns per request (vdisk-bench
  // SplitQueueBench FLUSH: 45 ns before, 35 after, with the hot region of map()).
  private static final VarHandle NEXT_AVAIL;
  private static final VarHandle NEXT_USED;
  private static final VarHandle POPPED;
  private static final VarHandle RETURNED;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      NEXT_AVAIL = l.findVarHandle(SplitQueue.class, "nextAvail", int.class);
      NEXT_USED = l.findVarHandle(SplitQueue.class, "nextUsed", int.class);
      POPPED = l.findVarHandle(SplitQueue.class, "popped", int.class);
      RETURNED = l.findVarHandle(SplitQueue.class, "returned", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final int index;
  private final int size;
  private final int mask;
  private final boolean eventIdx;
  private final boolean indirectAllowed;
  private final int maxChain;
  private final GuestMemory memory;
  private final DeviceNotifier notifier;

  private final long descHost;
  private final long availFlagsHost;
  private final long availIdxHost;
  private final long availRingHost;
  private final long usedEventHost;
  private final long usedFlagsHost;
  private final long usedIdxHost;
  private final long usedRingHost;
  private final long availEventHost;

  private final long[] regionBase;
  private final long[] regionLast;
  private final long[] regionHost;
  private final boolean[] regionWritable;

  // The region the last buffer was found in (popping thread only): guests place a request's
  // header, data and status close together, so one range check usually replaces the search.
  private int hotRegion;
  private long hotBase;
  private long hotSize;
  private long hotHost;
  private boolean hotWritable;

  /**
   * One byte per head: 1 while the head is in flight. Plain accesses, ordered by the ring's own
   * fences when popping and completing run on different threads: the completer clears the byte
   * before the release fence of its used.idx store, the driver can hand the head back only after
   * seeing that used.idx, and the popper reads the byte after the acquire fence of the avail.idx
   * load that showed it the head again.
   */
  private final byte[] inFlight;

  private final CounterArray errors = new CounterArray(QueueError.COUNT);
  private final CounterArray stats = new CounterArray(STAT_COUNT);

  // Owned by the popping thread.
  private int nextAvail;
  private int availSeen;
  private boolean noNotifySet;
  private int popped; // wraps; popped - returned is the number in flight

  // Owned by the completing thread (serialised by the caller).
  private int nextUsed;
  private int signalledUsed;
  private int returned;

  private volatile boolean broken;

  private SplitQueue(
      QueueSetup setup,
      boolean eventIdx,
      boolean indirectAllowed,
      int maxChain,
      GuestMemory memory,
      DeviceNotifier notifier,
      long descHost,
      long availHost,
      long usedHost) {
    this.index = setup.index();
    this.size = setup.size();
    this.mask = size - 1;
    this.eventIdx = eventIdx;
    this.indirectAllowed = indirectAllowed;
    this.maxChain = maxChain;
    this.memory = memory;
    this.notifier = notifier;
    this.descHost = descHost;
    this.availFlagsHost = availHost + AVAIL_FLAGS_OFFSET;
    this.availIdxHost = availHost + AVAIL_IDX_OFFSET;
    this.availRingHost = availHost + AVAIL_RING_OFFSET;
    this.usedEventHost = availHost + SplitRing.usedEventOffset(size);
    this.usedFlagsHost = usedHost + USED_FLAGS_OFFSET;
    this.usedIdxHost = usedHost + USED_IDX_OFFSET;
    this.usedRingHost = usedHost + USED_RING_OFFSET;
    this.availEventHost = usedHost + SplitRing.availEventOffset(size);
    int n = memory.regionCount();
    this.regionBase = new long[n];
    this.regionLast = new long[n];
    this.regionHost = new long[n];
    this.regionWritable = new boolean[n];
    for (int i = 0; i < n; i++) {
      MemoryRegion r = memory.region(i);
      regionBase[i] = r.guestBase();
      regionLast[i] = r.guestLast();
      regionHost[i] = r.hostAddress();
      regionWritable[i] = r.isWritable();
    }
    useRegion(0);
    this.inFlight = new byte[size];
    this.nextAvail = setup.nextAvail() & 0xffff;
    this.availSeen = nextAvail;
    this.nextUsed = setup.nextUsed() & 0xffff;
    this.signalledUsed = nextUsed;
    stats.set(STAT_LAST_AVAIL, nextAvail);
  }

  /**
   * Checks the driver's queue description and starts the queue.
   *
   * @param memory the guest memory every ring and buffer must lie in
   * @param setup where the driver put the rings
   * @param negotiatedFeatures the features in force (INDIRECT_DESC and EVENT_IDX matter here)
   * @param maxSize largest size the device offered for this queue
   * @param maxChainDescriptors cap on descriptors per chain; the effective cap is at least the
   *     queue size (the spec's own limit), and indirect tables may be this long (QEMU accepts 1024)
   * @param notifier where interrupts and NEEDS_RESET go
   * @throws QueueSetupException naming what is wrong, when the rings are unusable
   */
  public static SplitQueue activate(
      GuestMemory memory,
      QueueSetup setup,
      long negotiatedFeatures,
      int maxSize,
      int maxChainDescriptors,
      DeviceNotifier notifier)
      throws QueueSetupException {
    int size = setup.size();
    if (!SplitRing.isValidSize(size) || size > maxSize) {
      throw new QueueSetupException(
          "queue "
              + setup.index()
              + ": size "
              + size
              + " (expected: power of two <= "
              + maxSize
              + ")");
    }
    boolean eventIdx = VirtioFeatures.has(negotiatedFeatures, VirtioFeatures.RING_EVENT_IDX);
    boolean indirect = VirtioFeatures.has(negotiatedFeatures, VirtioFeatures.RING_INDIRECT_DESC);
    long desc =
        translate(
            memory,
            setup,
            "descriptor table",
            setup.descAddr(),
            SplitRing.DESC_ALIGN,
            SplitRing.descTableBytes(size),
            false);
    long avail =
        translate(
            memory,
            setup,
            "available ring",
            setup.driverAddr(),
            SplitRing.AVAIL_ALIGN,
            SplitRing.availRingBytes(size, eventIdx),
            false);
    long used =
        translate(
            memory,
            setup,
            "used ring",
            setup.deviceAddr(),
            SplitRing.USED_ALIGN,
            SplitRing.usedRingBytes(size, eventIdx),
            true);
    if (maxChainDescriptors < 1) {
      throw new IllegalArgumentException(
          "maxChainDescriptors " + maxChainDescriptors + " (expected >= 1)");
    }
    SplitQueue q =
        new SplitQueue(
            setup,
            eventIdx,
            indirect,
            Math.max(size, maxChainDescriptors),
            memory,
            notifier,
            desc,
            avail,
            used);
    q.start();
    return q;
  }

  private static long translate(
      GuestMemory memory,
      QueueSetup setup,
      String what,
      long gpa,
      int alignment,
      long bytes,
      boolean needsWrite)
      throws QueueSetupException {
    if ((gpa & (alignment - 1)) != 0) {
      throw new QueueSetupException(
          String.format(
              "queue %d: %s at 0x%x (expected: %d-byte aligned)",
              setup.index(), what, gpa, alignment));
    }
    int r = memory.regionIndex(gpa, bytes);
    if (r < 0) {
      throw new QueueSetupException(
          String.format(
              "queue %d: %s 0x%x+%d not inside one guest memory region (mapped: %s)",
              setup.index(), what, gpa, bytes, memory.describeRanges()));
    }
    MemoryRegion region = memory.region(r);
    if (needsWrite && !region.isWritable()) {
      throw new QueueSetupException(
          String.format(
              "queue %d: %s 0x%x lies in read-only region %s", setup.index(), what, gpa, region));
    }
    return region.hostAddress() + (gpa - region.guestBase());
  }

  /** The device owns used.flags and avail_event: give them defined values. */
  private void start() {
    HostMemory.putU16(usedFlagsHost, 0);
    if (eventIdx) {
      HostMemory.putU16(availEventHost, nextAvail);
    }
  }

  /** Length of {@code chain}'s segments the constructor sized for: the longest accepted chain. */
  public int maxChainDescriptors() {
    return maxChain;
  }

  /** A chain object big enough for any chain this queue accepts. */
  public DescriptorChain newChain() {
    return new DescriptorChain(maxChain + 64);
  }

  @Override
  public int index() {
    return index;
  }

  @Override
  public int size() {
    return size;
  }

  public boolean eventIdx() {
    return eventIdx;
  }

  // ---------------------------------------------------------------------------------------------
  // Available side

  @Override
  public int pop(DescriptorChain chain) {
    if (broken) {
      return POP_BROKEN;
    }
    int next = nextAvail;
    if (next == availSeen) {
      int avail = HostMemory.lvU16(availIdxHost);
      stats.set(STAT_LAST_AVAIL, avail);
      if (((avail - next) & 0xffff) > size) {
        return ringFault(QueueError.AVAIL_IDX_OVERRUN, avail);
      }
      availSeen = avail;
      if (avail == next) {
        return POP_EMPTY;
      }
    }
    int head = HostMemory.u16(availRingHost + (long) AVAIL_ELEM_SIZE * (next & mask));
    nextAvail = (next + 1) & 0xffff;
    if (head >= size) {
      return ringFault(QueueError.HEAD_OUT_OF_RANGE, head);
    }
    if (inFlight[head] != 0) {
      return ringFault(QueueError.HEAD_IN_FLIGHT, head);
    }
    inFlight[head] = 1;
    // Two single-writer counters instead of one atomic: no locked instruction per request.
    popped++;
    return walk(chain, head);
  }

  /** Cold: stops the queue and asks for a device reset. */
  private int ringFault(QueueError error, int value) {
    errors.increment(error.ordinal());
    if (!broken) {
      broken = true;
      notifier.needsReset(
          "virtqueue " + index + ": " + error + " (value " + value + ", queue size " + size + ")");
    }
    return POP_BROKEN;
  }

  private int malformed(DescriptorChain chain, QueueError error) {
    errors.increment(error.ordinal());
    chain.error = error;
    chain.segments = 0;
    chain.readableSegments = 0;
    return POP_MALFORMED;
  }

  // walk, walkIndirect and addDescriptor are kept apart and small on purpose: as one method the
  // walk was 524 bytes of bytecode, over C2's FreqInlineSize (325), so it was never inlined into
  // the request loop (-XX:+PrintInlining: "hot method too big"). Splitting it (and RequestParser's
  // parse) took VirtioBlkBench FLUSH from 64 to 47 ns and READ_512 from 127 to 104 ns per request.

  private int walk(DescriptorChain c, int head) {
    c.clear(head);
    if (!c.usesRegions(regionHost)) {
      c.useRegions(regionBase, regionHost);
    }
    long d = descHost + (long) DESC_SIZE * head;
    int walked = 1;
    while (true) {
      long addr = HostMemory.u64(d + DESC_ADDR_OFFSET);
      long len = HostMemory.u32(d + DESC_LEN_OFFSET);
      int flags = HostMemory.u16(d + DESC_FLAGS_OFFSET);
      if ((flags & DESC_F_INDIRECT) != 0) {
        return walkIndirect(c, addr, len, flags);
      }
      QueueError error = addDescriptor(c, addr, len, flags);
      if (error != null) {
        return malformed(c, error);
      }
      if ((flags & DESC_F_NEXT) == 0) {
        return finish(c);
      }
      int next = HostMemory.u16(d + DESC_NEXT_OFFSET);
      if (next >= size) {
        return malformed(c, QueueError.NEXT_OUT_OF_RANGE);
      }
      if (++walked > size) {
        return malformed(c, QueueError.CHAIN_LOOP);
      }
      d = descHost + (long) DESC_SIZE * next;
    }
  }

  /**
   * The chain continues in an indirect table (the descriptor pointing at it ends the direct part:
   * INDIRECT with NEXT is refused). WRITE on the pointer descriptor is ignored, as the spec
   * requires.
   *
   * <p>Its loop repeats walk's on purpose. One loop shared by both measured slower twice: called
   * back from here (recursion), FLUSH 37 -> 47 ns per request in VirtioBlkBench; without the
   * recursion (walk hands the indirect descriptor over in fields), SplitQueueBench FLUSH 24.5 ->
   * 34.5 ns in 5 of 5 alternating rounds, because C2 compiled the shared loop on its own and called
   * it from walk ("already compiled into a big method") instead of inlining it.
   */
  private int walkIndirect(DescriptorChain c, long addr, long len, int flags) {
    if (!indirectAllowed) {
      return malformed(c, QueueError.INDIRECT_NOT_NEGOTIATED);
    }
    if ((flags & DESC_F_NEXT) != 0) {
      return malformed(c, QueueError.INDIRECT_WITH_NEXT);
    }
    if (len == 0 || (len & (DESC_SIZE - 1)) != 0) {
      return malformed(c, QueueError.INDIRECT_BAD_LENGTH);
    }
    long entries = len / DESC_SIZE;
    if (entries > maxChain) {
      return malformed(c, QueueError.INDIRECT_TOO_LARGE);
    }
    int r = memory.regionIndex(addr, len);
    if (r < 0) {
      return malformed(c, QueueError.INDIRECT_TABLE_UNMAPPED);
    }
    c.indirect = true;
    long table = regionHost[r] + (addr - regionBase[r]);
    int tableSize = (int) entries;
    long d = table;
    int walked = 1;
    while (true) {
      long a = HostMemory.u64(d + DESC_ADDR_OFFSET);
      long n = HostMemory.u32(d + DESC_LEN_OFFSET);
      int f = HostMemory.u16(d + DESC_FLAGS_OFFSET);
      if ((f & DESC_F_INDIRECT) != 0) {
        return malformed(c, QueueError.INDIRECT_NESTED);
      }
      QueueError error = addDescriptor(c, a, n, f);
      if (error != null) {
        return malformed(c, error);
      }
      if ((f & DESC_F_NEXT) == 0) {
        return finish(c);
      }
      int next = HostMemory.u16(d + DESC_NEXT_OFFSET);
      if (next >= tableSize) {
        return malformed(c, QueueError.NEXT_OUT_OF_RANGE);
      }
      if (++walked > tableSize) {
        return malformed(c, QueueError.CHAIN_LOOP);
      }
      d = table + (long) DESC_SIZE * next;
    }
  }

  /** Checks one buffer descriptor and appends its memory to the chain. */
  private QueueError addDescriptor(DescriptorChain c, long addr, long len, int flags) {
    if (++c.descriptors > maxChain) {
      return QueueError.CHAIN_TOO_LONG;
    }
    if (len == 0) {
      return QueueError.ZERO_LENGTH_BUFFER;
    }
    boolean writable = (flags & DESC_F_WRITE) != 0;
    if (writable) {
      if (c.readableSegments < 0) {
        c.readableSegments = c.segments;
      }
      c.writableBytes += len;
    } else {
      if (c.readableSegments >= 0) {
        return QueueError.READABLE_AFTER_WRITABLE;
      }
      c.readableBytes += len;
    }
    if (c.readableBytes + c.writableBytes > 0xffff_ffffL) {
      return QueueError.CHAIN_BYTES_OVERFLOW;
    }
    return map(c, addr, len, writable);
  }

  private static int finish(DescriptorChain c) {
    if (c.readableSegments < 0) {
      c.readableSegments = c.segments; // no writable descriptor
    }
    return POP_CHAIN;
  }

  /** Adds [addr, addr+len) to the chain as one segment, or several across adjacent regions. */
  private QueueError map(DescriptorChain c, long addr, long len, boolean writable) {
    // Unsigned: an address below the region wraps to a huge offset and fails the first test.
    long offset = addr - hotBase;
    if (Long.compareUnsigned(offset, hotSize) < 0
        && len <= hotSize - offset
        && len <= MAX_SEGMENT_BYTES) {
      if (writable && !hotWritable) {
        return QueueError.BUFFER_READ_ONLY;
      }
      if (!c.add(hotHost + offset, (int) len, hotRegion)) {
        return QueueError.TOO_MANY_SEGMENTS;
      }
      return null;
    }
    return mapOtherRegion(c, addr, len, writable);
  }

  /** A buffer outside the last region used: search, and make the region found the hot one. */
  private QueueError mapOtherRegion(DescriptorChain c, long addr, long len, boolean writable) {
    int r = len <= MAX_SEGMENT_BYTES ? memory.regionIndex(addr, len) : -1;
    if (r >= 0) {
      useRegion(r);
      if (writable && !regionWritable[r]) {
        return QueueError.BUFFER_READ_ONLY;
      }
      long offset = addr - regionBase[r];
      if (!c.add(regionHost[r] + offset, (int) len, r)) {
        return QueueError.TOO_MANY_SEGMENTS;
      }
      return null;
    }
    return mapSplit(c, addr, len, writable);
  }

  private void useRegion(int r) {
    hotRegion = r;
    hotBase = regionBase[r];
    hotSize = regionLast[r] - regionBase[r] + 1; // a region is at most 2^63 - 1 bytes: no overflow
    hotHost = regionHost[r];
    hotWritable = regionWritable[r];
  }

  /** Cold: a buffer crossing region boundaries or longer than one segment. */
  private QueueError mapSplit(DescriptorChain c, long addr, long len, boolean writable) {
    long a = addr;
    long remaining = len;
    while (remaining > 0) {
      int r = memory.regionIndex(a, 1);
      if (r < 0) {
        return QueueError.BUFFER_UNMAPPED;
      }
      if (writable && !regionWritable[r]) {
        return QueueError.BUFFER_READ_ONLY;
      }
      long inRegion = regionLast[r] - a; // bytes after a in this region, minus one
      long n = remaining;
      if (Long.compareUnsigned(n - 1, inRegion) > 0) {
        n = inRegion + 1;
      }
      if (n > MAX_SEGMENT_BYTES) {
        n = MAX_SEGMENT_BYTES;
      }
      long offset = a - regionBase[r];
      if (!c.add(regionHost[r] + offset, (int) n, r)) {
        return QueueError.TOO_MANY_SEGMENTS;
      }
      a += n;
      remaining -= n;
      if (remaining > 0 && a == 0) {
        return QueueError.BUFFER_UNMAPPED; // wrapped past the top of the address space
      }
    }
    return null;
  }

  @Override
  public void disableNotifications() {
    if (!eventIdx && !noNotifySet) {
      HostMemory.putU16(usedFlagsHost, USED_F_NO_NOTIFY);
      noNotifySet = true;
    }
    // With EVENT_IDX a stale avail_event already suppresses kicks: the driver only kicks when its
    // index crosses avail_event, which it passed when it last kicked.
  }

  @Override
  public boolean enableNotifications() {
    if (broken) {
      return false;
    }
    if (eventIdx) {
      HostMemory.putU16(availEventHost, nextAvail);
    } else if (noNotifySet) {
      HostMemory.putU16(usedFlagsHost, 0);
      noNotifySet = false;
    }
    // The driver may have published between our last look and the store above without kicking.
    HostMemory.fullFence();
    int avail = HostMemory.lvU16(availIdxHost);
    stats.set(STAT_LAST_AVAIL, avail);
    return avail != nextAvail;
  }

  // ---------------------------------------------------------------------------------------------
  // Used side

  @Override
  public void addUsed(int head, int len) {
    if (head < 0 || head >= size || inFlight[head] == 0) {
      stats.increment(STAT_USED_NOT_IN_FLIGHT);
      return;
    }
    // Free the head before the driver can see it in the used ring and hand it back to us.
    inFlight[head] = 0;
    returned++;
    int used = nextUsed;
    long e = usedRingHost + (long) USED_ELEM_SIZE * (used & mask);
    HostMemory.putU32(e + USED_ELEM_ID_OFFSET, head);
    HostMemory.putU32(e + USED_ELEM_LEN_OFFSET, len & 0xffff_ffffL);
    used = (used + 1) & 0xffff;
    nextUsed = used;
    HostMemory.soU16(usedIdxHost, used);
  }

  @Override
  public boolean notifyIfNeeded() {
    int now = nextUsed;
    int old = signalledUsed;
    if (now == old) {
      return false;
    }
    // used.idx must be visible before we read the driver's wish, or a driver that just re-enabled
    // interrupts and saw no new entry would sleep forever (ACRN #2733, Cloud Hypervisor #897).
    HostMemory.fullFence();
    boolean need;
    if (eventIdx) {
      need = SplitRing.needEvent(HostMemory.u16(usedEventHost), now, old);
    } else {
      need = (HostMemory.u16(availFlagsHost) & AVAIL_F_NO_INTERRUPT) == 0;
    }
    signalledUsed = now;
    if (need) {
      stats.increment(STAT_INTERRUPTS_SENT);
      notifier.usedBuffers(index);
    } else {
      stats.increment(STAT_INTERRUPTS_SUPPRESSED);
    }
    return need;
  }

  // ---------------------------------------------------------------------------------------------
  // State and statistics

  @Override
  public boolean isBroken() {
    return broken;
  }

  @Override
  public int nextAvail() {
    return (int) NEXT_AVAIL.getOpaque(this);
  }

  @Override
  public int lastAvailIdx() {
    return (int) stats.get(STAT_LAST_AVAIL);
  }

  @Override
  public int usedIdx() {
    return (int) NEXT_USED.getOpaque(this);
  }

  @Override
  public int inFlight() {
    // Returned first: popped only grows, so the difference cannot come out negative.
    int back = (int) RETURNED.getOpaque(this);
    VarHandle.acquireFence();
    return (int) POPPED.getOpaque(this) - back;
  }

  @Override
  public long errorCount(QueueError error) {
    return errors.get(error.ordinal());
  }

  @Override
  public long interruptsSent() {
    return stats.get(STAT_INTERRUPTS_SENT);
  }

  @Override
  public long interruptsSuppressed() {
    return stats.get(STAT_INTERRUPTS_SUPPRESSED);
  }

  @Override
  public long usedNotInFlight() {
    return stats.get(STAT_USED_NOT_IN_FLIGHT);
  }

  /** True when {@code head} is in flight (tests, diagnostics). */
  public boolean isInFlight(int head) {
    return head >= 0 && head < size && (byte) BYTES.getOpaque(inFlight, head) != 0;
  }

  @Override
  public String toString() {
    return "SplitQueue{index="
        + index
        + ", size="
        + size
        + ", nextAvail="
        + nextAvail()
        + ", used="
        + usedIdx()
        + ", inFlight="
        + inFlight()
        + (broken ? ", BROKEN" : "")
        + "}";
  }
}
