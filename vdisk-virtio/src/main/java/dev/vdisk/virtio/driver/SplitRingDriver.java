package dev.vdisk.virtio.driver;

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
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.queue.HostMemory;
import dev.vdisk.virtio.queue.SplitRing;

/**
 * The guest (driver) side of one split virtqueue, as Linux's {@code virtio_ring.c} or aerovblk
 * implement it: it lays the ring out in guest memory, adds descriptor chains (direct, or one
 * indirect table per request), publishes the available index with release semantics, decides
 * whether the device needs a kick (NO_NOTIFY / avail_event), asks for or suppresses interrupts
 * (NO_INTERRUPT / used_event) and collects used entries.
 *
 * <p>Used by tests, benchmarks, the PCI driver model and embedders' own tests. It allocates nothing
 * after construction: chains are built by {@link #startChain()}, {@link #addReadable}/{@link
 * #addWritable} and {@link #submitDirect}/{@link #submitIndirect} into pre-sized arrays, and used
 * entries are read by {@link #pollUsed()} into fields ({@link #lastUsedLen()}, {@link
 * #lastToken()}).
 *
 * <p>Besides the well-behaved API it exposes raw accessors ({@link #writeDescriptor}, {@link
 * #putAvailRing}, {@link #setAvailIdx}) so that tests can build hostile rings.
 *
 * <p>Not thread-safe: one thread drives one queue, like a guest driver under its queue lock.
 * Addresses are translated once here (the whole ring must lie in one region), which is what the
 * device does too.
 */
public final class SplitRingDriver {
  private final GuestMemory memory;
  private final int size;
  private final int mask;
  private final boolean eventIdx;
  private final long descAddr;
  private final long availAddr;
  private final long usedAddr;
  private final long descHost;
  private final long availHost;
  private final long usedHost;
  private final long usedEventHost;
  private final long availEventHost;

  // Free list and chains share one shadow "next" array, as Linux keeps desc_extra[].next.
  private final int[] shadowNext;
  private final int[] chainTail;
  private final int[] chainCount;
  private final long[] tokens;
  private final boolean[] outstanding;
  private int freeHead;
  private int numFree;
  private int outstandingCount;

  // The chain being built.
  private final long[] pendAddr;
  private final int[] pendLen;
  private final int[] pendFlags;
  private int pendCount;

  // Indirect tables: one per head, laid out by the caller with useIndirectArea.
  private long indirectAddr;
  private long indirectHost;
  private int indirectEntries;

  private int availShadow;
  private int kickedAvail;
  private int lastUsed;
  private int availFlagsShadow;
  private boolean retainChains;

  private int lastUsedLen;
  private long lastToken;

  private SplitRingDriver(
      GuestMemory memory, long desc, long avail, long used, int size, boolean eventIdx) {
    if (!SplitRing.isValidSize(size)) {
      throw new IllegalArgumentException(
          "queue size " + size + " (expected: power of two <= " + SplitRing.MAX_QUEUE_SIZE + ")");
    }
    checkAligned("descriptor table", desc, SplitRing.DESC_ALIGN);
    checkAligned("available ring", avail, SplitRing.AVAIL_ALIGN);
    checkAligned("used ring", used, SplitRing.USED_ALIGN);
    this.memory = memory;
    this.size = size;
    this.mask = size - 1;
    this.eventIdx = eventIdx;
    this.descAddr = desc;
    this.availAddr = avail;
    this.usedAddr = used;
    this.descHost = memory.hostAddressForWrite(desc, SplitRing.descTableBytes(size));
    this.availHost = memory.hostAddressForWrite(avail, SplitRing.availRingBytes(size, eventIdx));
    this.usedHost = memory.hostAddressForWrite(used, SplitRing.usedRingBytes(size, eventIdx));
    this.usedEventHost = availHost + SplitRing.usedEventOffset(size);
    this.availEventHost = usedHost + SplitRing.availEventOffset(size);
    this.shadowNext = new int[size];
    this.chainTail = new int[size];
    this.chainCount = new int[size];
    this.tokens = new long[size];
    this.outstanding = new boolean[size];
    int pendCapacity = Math.max(size, 1024);
    this.pendAddr = new long[pendCapacity];
    this.pendLen = new int[pendCapacity];
    this.pendFlags = new int[pendCapacity];
    reset();
  }

  /**
   * A driver for a ring at explicit guest addresses (each part must lie in one writable region and
   * be aligned as the spec requires: descriptors 16, avail 2, used 4).
   */
  public static SplitRingDriver at(
      GuestMemory memory,
      long descAddr,
      long availAddr,
      long usedAddr,
      int size,
      boolean eventIdx) {
    return new SplitRingDriver(memory, descAddr, availAddr, usedAddr, size, eventIdx);
  }

  /**
   * Lays a ring out contiguously from {@code base} (16-byte aligned): descriptor table, then the
   * available ring, then the used ring on the next 4-byte boundary. {@link #bytesNeeded} tells how
   * much room it takes.
   */
  public static SplitRingDriver layout(GuestMemory memory, long base, int size, boolean eventIdx) {
    long avail = base + SplitRing.descTableBytes(size);
    long used = align(avail + SplitRing.availRingBytes(size, true), SplitRing.USED_ALIGN);
    return new SplitRingDriver(memory, base, avail, used, size, eventIdx);
  }

  /** Bytes {@link #layout} uses from its base (room for the event fields is always reserved). */
  public static long bytesNeeded(int size) {
    long avail = SplitRing.descTableBytes(size);
    long used = align(avail + SplitRing.availRingBytes(size, true), SplitRing.USED_ALIGN);
    return used + SplitRing.usedRingBytes(size, true);
  }

  /**
   * Gives each head an indirect table of {@code entriesPerTable} descriptors at {@code base + head
   * * entriesPerTable * 16} (one table per request, as aerovblk does). Needs {@code size *
   * entriesPerTable * 16} bytes of writable guest memory in one region.
   */
  public SplitRingDriver useIndirectArea(long base, int entriesPerTable) {
    if (entriesPerTable < 1 || entriesPerTable > pendAddr.length) {
      throw new IllegalArgumentException(
          "entries per indirect table "
              + entriesPerTable
              + " (expected: 1.."
              + pendAddr.length
              + ")");
    }
    long bytes = (long) size * entriesPerTable * DESC_SIZE;
    this.indirectHost = memory.hostAddressForWrite(base, bytes);
    this.indirectAddr = base;
    this.indirectEntries = entriesPerTable;
    return this;
  }

  /** Bytes {@link #useIndirectArea} needs. */
  public static long indirectAreaBytes(int size, int entriesPerTable) {
    return (long) size * entriesPerTable * DESC_SIZE;
  }

  /**
   * When set, {@link #pollUsed()} leaves a completed chain's descriptors in place so that {@link
   * #resubmit(int)} can make it available again without rewriting it (benchmarks).
   */
  public SplitRingDriver retainChains(boolean retain) {
    this.retainChains = retain;
    return this;
  }

  private static long align(long v, int a) {
    return (v + a - 1) & -a;
  }

  private static void checkAligned(String what, long gpa, int alignment) {
    if ((gpa & (alignment - 1)) != 0) {
      throw new IllegalArgumentException(
          what + " at 0x" + Long.toHexString(gpa) + " (expected: " + alignment + "-byte aligned)");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * A fresh ring: every descriptor free, indices 0, flags 0, rings zeroed (descriptor contents are
   * left as they are).
   */
  public void reset() {
    for (int i = 0; i < size; i++) {
      shadowNext[i] = i + 1;
      outstanding[i] = false;
      chainCount[i] = 0;
    }
    freeHead = 0;
    numFree = size;
    outstandingCount = 0;
    pendCount = 0;
    rewindIndices();
  }

  /**
   * Sets both ring indices (and the driver's shadows) back to 0 and zeroes the ring headers,
   * keeping descriptors and retained chains: after this the ring looks freshly initialised to a
   * device that is activated again, and {@link #resubmit} can reuse the prebuilt chains. Every
   * chain counts as completed.
   */
  public void rewindIndices() {
    rewindIndices(0);
  }

  /**
   * Like {@link #rewindIndices()} but both indices start at {@code start} (a device activated with
   * {@code nextAvail = nextUsed = start}, e.g. to test the wrap at 65536 or a vhost-user
   * reconnect).
   */
  public void rewindIndices(int start) {
    HostMemory.fill(availHost, SplitRing.availRingBytes(size, eventIdx), (byte) 0);
    HostMemory.fill(usedHost, SplitRing.usedRingBytes(size, eventIdx), (byte) 0);
    for (int i = 0; i < size; i++) {
      outstanding[i] = false;
    }
    outstandingCount = 0;
    availShadow = start & 0xffff;
    kickedAvail = availShadow;
    lastUsed = availShadow;
    availFlagsShadow = 0;
    HostMemory.putU16(availHost + AVAIL_IDX_OFFSET, availShadow);
    HostMemory.putU16(usedHost + USED_IDX_OFFSET, availShadow);
    if (eventIdx) {
      HostMemory.putU16(usedEventHost, availShadow);
    }
  }

  /**
   * Where the driver put this ring, for a transport (PCI registers, vhost-user messages). The
   * device starts consuming at the driver's next used index: every chain not yet collected is
   * offered again (nothing is in flight in a fresh device).
   */
  public QueueSetup queueSetup(int queueIndex) {
    return new QueueSetup(queueIndex, size, descAddr, availAddr, usedAddr, lastUsed, lastUsed);
  }

  // ---------------------------------------------------------------------------------------------
  // Building and submitting chains

  /** Starts a new chain (forgets buffers added since the last submit). */
  public void startChain() {
    pendCount = 0;
  }

  /** Appends a device-readable buffer to the chain being built. */
  public void addReadable(long gpa, int length) {
    addBuffer(gpa, length, 0);
  }

  /** Appends a device-writable buffer to the chain being built. */
  public void addWritable(long gpa, int length) {
    addBuffer(gpa, length, DESC_F_WRITE);
  }

  /**
   * Appends a buffer with raw descriptor flags (only WRITE and INDIRECT are kept; NEXT is managed
   * here). Lets tests put an INDIRECT descriptor inside an indirect table and similar mistakes.
   */
  public void addBuffer(long gpa, int length, int flags) {
    if (pendCount == pendAddr.length) {
      throw new IllegalStateException("chain longer than " + pendAddr.length + " buffers");
    }
    pendAddr[pendCount] = gpa;
    pendLen[pendCount] = length;
    pendFlags[pendCount] = flags & (DESC_F_WRITE | DESC_F_INDIRECT);
    pendCount++;
  }

  /**
   * Changes the address of pending buffer {@code index} (a header whose slot depends on the head).
   */
  public void patchPending(int index, long gpa) {
    if (index < 0 || index >= pendCount) {
      throw new IndexOutOfBoundsException("pending buffer " + index + " of " + pendCount);
    }
    pendAddr[index] = gpa;
  }

  /** The head the next submit will use, or -1 when no descriptor is free. */
  public int peekFreeHead() {
    return numFree == 0 ? -1 : freeHead;
  }

  /** Number of buffers in the chain being built. */
  public int pendingBuffers() {
    return pendCount;
  }

  /** Free descriptors in the table. */
  public int numFree() {
    return numFree;
  }

  /** Chains made available and not yet collected. */
  public int outstanding() {
    return outstandingCount;
  }

  /**
   * Writes the pending buffers as a chain of direct descriptors and makes it available. Returns the
   * head, or -1 when the table has too few free descriptors (nothing changes then).
   */
  public int submitDirect(long token) {
    int n = pendCount;
    if (n == 0) {
      throw new IllegalStateException("empty chain");
    }
    if (n > numFree) {
      return -1;
    }
    int head = freeHead;
    int d = head;
    int last = head;
    for (int i = 0; i < n; i++) {
      int next = shadowNext[d];
      boolean more = i + 1 < n;
      writeDescriptor(d, pendAddr[i], pendLen[i], pendFlags[i] | (more ? DESC_F_NEXT : 0), next);
      last = d;
      d = next;
    }
    freeHead = d;
    numFree -= n;
    chainTail[head] = last;
    chainCount[head] = n;
    pendCount = 0;
    makeAvailable(head, token);
    return head;
  }

  /**
   * Writes the pending buffers into the head's indirect table (see {@link #useIndirectArea}) and
   * makes one INDIRECT descriptor pointing at it available. Returns the head, or -1 when no
   * descriptor is free.
   */
  public int submitIndirect(long token) {
    int n = pendCount;
    if (indirectEntries == 0) {
      throw new IllegalStateException("no indirect area (call useIndirectArea first)");
    }
    if (n == 0 || n > indirectEntries) {
      throw new IllegalStateException(
          "indirect chain of " + n + " buffers (expected: 1.." + indirectEntries + ")");
    }
    if (numFree == 0) {
      return -1;
    }
    int head = freeHead;
    long table = indirectHost + (long) head * indirectEntries * DESC_SIZE;
    for (int i = 0; i < n; i++) {
      long e = table + (long) i * DESC_SIZE;
      boolean more = i + 1 < n;
      HostMemory.putU64(e + DESC_ADDR_OFFSET, pendAddr[i]);
      HostMemory.putU32(e + DESC_LEN_OFFSET, pendLen[i]);
      HostMemory.putU16(e + DESC_FLAGS_OFFSET, pendFlags[i] | (more ? DESC_F_NEXT : 0));
      HostMemory.putU16(e + DESC_NEXT_OFFSET, more ? i + 1 : 0);
    }
    freeHead = shadowNext[head];
    numFree--;
    chainTail[head] = head;
    chainCount[head] = 1;
    writeDescriptor(
        head,
        indirectAddr + (long) head * indirectEntries * DESC_SIZE,
        n * DESC_SIZE,
        DESC_F_INDIRECT,
        0);
    pendCount = 0;
    makeAvailable(head, token);
    return head;
  }

  /** Guest address of the indirect table that belongs to {@code head}. */
  public long indirectTableAddr(int head) {
    return indirectAddr + (long) head * indirectEntries * DESC_SIZE;
  }

  /**
   * Makes a retained chain (see {@link #retainChains}) available again without rewriting its
   * descriptors.
   */
  public void resubmit(int head, long token) {
    if (head < 0 || head >= size || chainCount[head] == 0 || outstanding[head]) {
      throw new IllegalStateException("head " + head + " is not a retained, completed chain");
    }
    makeAvailable(head, token);
  }

  private void makeAvailable(int head, long token) {
    tokens[head] = token;
    outstanding[head] = true;
    outstandingCount++;
    HostMemory.putU16(
        availHost + AVAIL_RING_OFFSET + (long) AVAIL_ELEM_SIZE * (availShadow & mask), head);
    availShadow = (availShadow + 1) & 0xffff;
    // Ring entry (and the descriptors and buffers before it) visible before the index.
    HostMemory.soU16(availHost + AVAIL_IDX_OFFSET, availShadow);
  }

  /**
   * Whether the device wants a notification for the chains made available since the last call
   * (Linux {@code virtqueue_kick_prepare}): avail_event with EVENT_IDX, else used.flags NO_NOTIFY.
   * A full fence orders the avail index store before the read of the device's field. False when
   * nothing was made available since the last call.
   */
  public boolean kickNeeded() {
    HostMemory.fullFence();
    int old = kickedAvail;
    int now = availShadow;
    kickedAvail = now;
    if (now == old) {
      return false; // nothing made available since the last decision
    }
    if (eventIdx) {
      return SplitRing.needEvent(HostMemory.u16(availEventHost), now, old);
    }
    return (HostMemory.u16(usedHost + USED_FLAGS_OFFSET) & USED_F_NO_NOTIFY) == 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Collecting used entries

  /** True when the device has published entries not yet collected (acquire load). */
  public boolean hasUsed() {
    return HostMemory.lvU16(usedHost + USED_IDX_OFFSET) != lastUsed;
  }

  /**
   * Collects one used entry: returns its head (and sets {@link #lastUsedLen()}/{@link
   * #lastToken()}), or -1 when none is pending. Frees the chain's descriptors unless chains are
   * retained. Throws {@link IllegalStateException} when the device returned an id that is out of
   * range or not in flight: a device bug this driver model exists to catch.
   */
  public int pollUsed() {
    int published = HostMemory.lvU16(usedHost + USED_IDX_OFFSET);
    if (published == lastUsed) {
      return -1;
    }
    long elem = usedHost + USED_RING_OFFSET + (long) USED_ELEM_SIZE * (lastUsed & mask);
    long id = HostMemory.u32(elem + USED_ELEM_ID_OFFSET);
    int len = (int) HostMemory.u32(elem + USED_ELEM_LEN_OFFSET);
    if (id >= size || !outstanding[(int) id]) {
      throw deviceBug(id, published);
    }
    int head = (int) id;
    lastUsed = (lastUsed + 1) & 0xffff;
    outstanding[head] = false;
    outstandingCount--;
    lastUsedLen = len;
    lastToken = tokens[head];
    if (!retainChains) {
      freeChain(head);
    }
    return head;
  }

  private IllegalStateException deviceBug(long id, int published) {
    return new IllegalStateException(
        "device returned used id "
            + id
            + " at used index "
            + lastUsed
            + " (published "
            + published
            + ") that is not in flight (queue size "
            + size
            + ")");
  }

  /** Gives a retained chain's descriptors back to the free list. */
  public void freeChain(int head) {
    int n = chainCount[head];
    if (n == 0) {
      return;
    }
    shadowNext[chainTail[head]] = freeHead;
    freeHead = head;
    numFree += n;
    chainCount[head] = 0;
  }

  /** {@code used.len} of the entry {@link #pollUsed()} returned last. */
  public int lastUsedLen() {
    return lastUsedLen;
  }

  /** Token given when the chain {@link #pollUsed()} returned last was submitted. */
  public long lastToken() {
    return lastToken;
  }

  // ---------------------------------------------------------------------------------------------
  // Interrupt suppression (driver side)

  /**
   * Asks the device not to interrupt: NO_INTERRUPT without EVENT_IDX; with EVENT_IDX used_event is
   * moved to the entry furthest away (Linux writes a constant there; this is the same idea).
   */
  public void disableInterrupts() {
    if (eventIdx) {
      HostMemory.putU16(usedEventHost, (lastUsed - 1) & 0xffff);
    } else {
      availFlagsShadow |= AVAIL_F_NO_INTERRUPT;
      HostMemory.putU16(availHost + AVAIL_FLAGS_OFFSET, availFlagsShadow);
    }
  }

  /**
   * Asks for an interrupt on the next used entry and returns true when entries are already pending
   * (the caller must poll again, or it could sleep on an interrupt that already passed).
   */
  public boolean enableInterrupts() {
    if (eventIdx) {
      HostMemory.putU16(usedEventHost, lastUsed);
    } else {
      availFlagsShadow &= ~AVAIL_F_NO_INTERRUPT;
      HostMemory.putU16(availHost + AVAIL_FLAGS_OFFSET, availFlagsShadow);
    }
    HostMemory.fullFence();
    return HostMemory.u16(usedHost + USED_IDX_OFFSET) != lastUsed;
  }

  /** Writes used_event (EVENT_IDX): interrupt once the used index passes {@code index}. */
  public void setUsedEvent(int index) {
    requireEventIdx();
    HostMemory.putU16(usedEventHost, index);
  }

  /**
   * Reads avail_event (EVENT_IDX), the avail index whose publication the device wants a kick for.
   */
  public int availEvent() {
    requireEventIdx();
    return HostMemory.u16(availEventHost);
  }

  public int usedEvent() {
    requireEventIdx();
    return HostMemory.u16(usedEventHost);
  }

  private void requireEventIdx() {
    if (!eventIdx) {
      throw new IllegalStateException("ring was laid out without EVENT_IDX");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Raw access (hostile tests, diagnostics)

  /** Writes descriptor {@code index} of the table verbatim. */
  public void writeDescriptor(int index, long addr, int len, int flags, int next) {
    long d = descHost + (long) DESC_SIZE * (index & mask);
    HostMemory.putU64(d + DESC_ADDR_OFFSET, addr);
    HostMemory.putU32(d + DESC_LEN_OFFSET, len & 0xffff_ffffL);
    HostMemory.putU16(d + DESC_FLAGS_OFFSET, flags);
    HostMemory.putU16(d + DESC_NEXT_OFFSET, next);
  }

  /**
   * Records {@code head} as outstanding with {@code token}, for a chain a test published with the
   * raw accessors, so that {@link #pollUsed()} accepts the device's answer for it.
   */
  public void markOutstanding(int head, long token) {
    if (!outstanding[head]) {
      outstanding[head] = true;
      outstandingCount++;
    }
    tokens[head] = token;
  }

  /** Writes avail.ring[slot] verbatim (slot taken modulo the size). */
  public void putAvailRing(int slot, int head) {
    HostMemory.putU16(availHost + AVAIL_RING_OFFSET + (long) AVAIL_ELEM_SIZE * (slot & mask), head);
  }

  /** Publishes avail.idx verbatim (release store) and moves the shadow with it. */
  public void setAvailIdx(int idx) {
    availShadow = idx & 0xffff;
    HostMemory.soU16(availHost + AVAIL_IDX_OFFSET, availShadow);
  }

  public void setAvailFlags(int flags) {
    availFlagsShadow = flags;
    HostMemory.putU16(availHost + AVAIL_FLAGS_OFFSET, flags);
  }

  /** avail.idx as the driver last published it. */
  public int availIdx() {
    return availShadow;
  }

  /** used.idx as the device last published it (acquire load). */
  public int usedIdx() {
    return HostMemory.lvU16(usedHost + USED_IDX_OFFSET);
  }

  /** The driver's next used index to collect. */
  public int lastUsedIdx() {
    return lastUsed;
  }

  public int usedFlags() {
    return HostMemory.u16(usedHost + USED_FLAGS_OFFSET);
  }

  /** used.ring[slot].id (slot taken modulo the size). */
  public long usedElemId(int slot) {
    return HostMemory.u32(usedHost + USED_RING_OFFSET + (long) USED_ELEM_SIZE * (slot & mask));
  }

  /** used.ring[slot].len (slot taken modulo the size). */
  public long usedElemLen(int slot) {
    return HostMemory.u32(
        usedHost + USED_RING_OFFSET + (long) USED_ELEM_SIZE * (slot & mask) + USED_ELEM_LEN_OFFSET);
  }

  public int size() {
    return size;
  }

  public boolean eventIdx() {
    return eventIdx;
  }

  public long descAddr() {
    return descAddr;
  }

  public long availAddr() {
    return availAddr;
  }

  public long usedAddr() {
    return usedAddr;
  }

  public GuestMemory memory() {
    return memory;
  }
}
