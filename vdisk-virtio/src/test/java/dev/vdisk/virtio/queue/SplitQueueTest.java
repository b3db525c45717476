package dev.vdisk.virtio.queue;

import static dev.vdisk.virtio.queue.SplitRing.DESC_F_INDIRECT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_NEXT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.testing.RecordingNotifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SplitQueueTest {
  private static final long BASE = 0x10000;
  private static final long RING = BASE;
  private static final long INDIRECT = BASE + 0x20000;
  private static final long BUF = BASE + 0x80000;
  private static final long FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1)
          | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
          | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);

  private final GuestMemory memory = GuestMemory.allocate(BASE, 1 << 20);
  private final RecordingNotifier notifier = new RecordingNotifier();

  @AfterEach
  void close() {
    memory.close();
  }

  private SplitRingDriver driver(int size, boolean eventIdx) {
    return SplitRingDriver.layout(memory, RING, size, eventIdx).useIndirectArea(INDIRECT, 8);
  }

  private SplitQueue queue(SplitRingDriver d, long features) throws QueueSetupException {
    return SplitQueue.activate(memory, d.queueSetup(0), features, 256, 1024, notifier);
  }

  @Test
  void popsDirectChainWithSegmentsInOrder() throws Exception {
    SplitRingDriver d = driver(16, true);
    SplitQueue q = queue(d, FEATURES);
    DescriptorChain c = q.newChain();
    d.startChain();
    d.addReadable(BUF, 16);
    d.addReadable(BUF + 0x1000, 512);
    d.addWritable(BUF + 0x2000, 1024);
    d.addWritable(BUF + 0x3000, 1);
    int head = d.submitDirect(7);

    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    assertThat(c.head()).isEqualTo(head);
    assertThat(c.segments()).isEqualTo(4);
    assertThat(c.readableSegments()).isEqualTo(2);
    assertThat(c.readableBytes()).isEqualTo(528);
    assertThat(c.writableBytes()).isEqualTo(1025);
    assertThat(c.guestAddress(2)).isEqualTo(BUF + 0x2000);
    assertThat(c.length(2)).isEqualTo(1024);
    assertThat(c.isWritable(1)).isFalse();
    assertThat(c.isWritable(2)).isTrue();
    assertThat(c.storeOffset(0)).isEqualTo(BUF - BASE);
    assertThat(c.hostAddress(0)).isEqualTo(memory.hostAddress(BUF, 16));
    assertThat(c.isIndirect()).isFalse();
    assertThat(q.inFlight()).isEqualTo(1);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_EMPTY);

    q.addUsed(head, 1025);
    assertThat(q.notifyIfNeeded()).isTrue();
    assertThat(notifier.interrupts(0)).isEqualTo(1);
    assertThat(d.pollUsed()).isEqualTo(head);
    assertThat(d.lastUsedLen()).isEqualTo(1025);
    assertThat(d.lastToken()).isEqualTo(7);
    assertThat(d.numFree()).isEqualTo(16);
    assertThat(q.inFlight()).isZero();
  }

  @Test
  void popsIndirectChain() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES & ~VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX));
    DescriptorChain c = q.newChain();
    d.startChain();
    d.addReadable(BUF, 16);
    d.addWritable(BUF + 0x100, 4096);
    d.addWritable(BUF + 0x2000, 1);
    int head = d.submitIndirect(1);
    assertThat(d.numFree()).isEqualTo(7);

    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    assertThat(c.head()).isEqualTo(head);
    assertThat(c.isIndirect()).isTrue();
    assertThat(c.descriptors()).isEqualTo(3);
    assertThat(c.readableSegments()).isEqualTo(1);
    assertThat(c.length(1)).isEqualTo(4096);
  }

  @Test
  void directDescriptorsFollowedByOneIndirectAreAccepted() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    DescriptorChain c = q.newChain();
    long table = INDIRECT;
    memory.putU64(table, BUF + 0x100);
    memory.putU32(table + 8, 64);
    memory.putU16(table + 12, DESC_F_WRITE);
    d.writeDescriptor(0, BUF, 16, DESC_F_NEXT, 1);
    d.writeDescriptor(1, table, 16, DESC_F_INDIRECT, 0);
    d.putAvailRing(0, 0);
    d.setAvailIdx(1);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    assertThat(c.segments()).isEqualTo(2);
    assertThat(c.readableSegments()).isEqualTo(1);
  }

  @Test
  void bufferAcrossAdjacentRegionsBecomesTwoSegments() throws Exception {
    try (GuestMemory two =
        GuestMemory.of(
            MemoryRegion.allocate(0, 0x10000), MemoryRegion.allocate(0x10000, 0x10000))) {
      SplitRingDriver d = SplitRingDriver.layout(two, 0, 4, false);
      SplitQueue q = SplitQueue.activate(two, d.queueSetup(0), FEATURES, 4, 16, notifier);
      DescriptorChain c = q.newChain();
      d.startChain();
      d.addReadable(0xF000, 0x2000);
      d.submitDirect(0);
      assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
      assertThat(c.segments()).isEqualTo(2);
      assertThat(c.length(0)).isEqualTo(0x1000);
      assertThat(c.regionIndex(1)).isEqualTo(1);
      assertThat(c.storeOffset(1)).isZero();
      assertThat(c.descriptors()).isEqualTo(1);
    }
  }

  // --- chain-level faults: the head comes back, the queue goes on ---

  private void assertMalformed(SplitRingDriver d, SplitQueue q, QueueError expected) {
    DescriptorChain c = q.newChain();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_MALFORMED);
    assertThat(c.error()).isEqualTo(expected);
    assertThat(c.segments()).isZero();
    assertThat(q.errorCount(expected)).isEqualTo(1);
    assertThat(q.isBroken()).isFalse();
    q.addUsed(c.head(), 0);
    assertThat(d.pollUsed()).isEqualTo(c.head());
    assertThat(d.lastUsedLen()).isZero();
    assertThat(notifier.resets()).isEmpty();
    // The queue keeps working after a bad chain.
    d.startChain();
    d.addReadable(BUF, 16);
    d.submitDirect(0);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
  }

  private void publishHead(SplitRingDriver d, int head) {
    int slot = d.availIdx();
    d.putAvailRing(slot, head);
    d.setAvailIdx(slot + 1);
  }

  @Test
  void loopIsDetected() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.writeDescriptor(0, BUF, 16, DESC_F_NEXT, 1);
    d.writeDescriptor(1, BUF, 16, DESC_F_NEXT, 0);
    publishHead(d, 0);
    // Tell the ring driver head 0 is outstanding so it accepts the used entry.
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.CHAIN_LOOP);
  }

  /** The raw publish bypasses the driver's bookkeeping. */
  private static void markOutstanding(SplitRingDriver d, int head) {
    d.markOutstanding(head, 0);
  }

  @Test
  void nextOutOfRange() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.writeDescriptor(0, BUF, 16, DESC_F_NEXT, 8);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.NEXT_OUT_OF_RANGE);
  }

  @Test
  void readableAfterWritable() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addWritable(BUF, 16);
    d.addReadable(BUF + 16, 16);
    d.submitDirect(0);
    assertMalformed(d, q, QueueError.READABLE_AFTER_WRITABLE);
  }

  @Test
  void zeroLengthBuffer() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addReadable(BUF, 0);
    d.submitDirect(0);
    assertMalformed(d, q, QueueError.ZERO_LENGTH_BUFFER);
  }

  @Test
  void unmappedBuffer() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addReadable(BASE + (1 << 20) - 8, 16);
    d.submitDirect(0);
    assertMalformed(d, q, QueueError.BUFFER_UNMAPPED);
  }

  @Test
  void bufferWrappingTheAddressSpace() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addReadable(-16, 64);
    d.submitDirect(0);
    assertMalformed(d, q, QueueError.BUFFER_UNMAPPED);
  }

  @Test
  void chainBytesOverflowWithMappedDescriptors() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    // A small mapped buffer, then one claiming 4 GiB - 1: the sum passes 2^32 - 1.
    d.writeDescriptor(0, BUF, 16, DESC_F_NEXT, 1);
    d.writeDescriptor(1, BUF, 0xFFFF_FFF8, 0, 0);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.CHAIN_BYTES_OVERFLOW);
  }

  @Test
  void indirectWithoutFeature() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, VirtioFeatures.bit(VirtioFeatures.VERSION_1));
    d.startChain();
    d.addReadable(BUF, 16);
    d.submitIndirect(0);
    assertMalformed(d, q, QueueError.INDIRECT_NOT_NEGOTIATED);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 8, 24})
  void indirectBadLength(int len) throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.writeDescriptor(0, INDIRECT, len, DESC_F_INDIRECT, 0);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.INDIRECT_BAD_LENGTH);
  }

  @Test
  void indirectTooLarge() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = SplitQueue.activate(memory, d.queueSetup(0), FEATURES, 256, 8, notifier);
    d.writeDescriptor(0, INDIRECT, 16 * 9, DESC_F_INDIRECT, 0);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.INDIRECT_TOO_LARGE);
  }

  @Test
  void indirectNested() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addReadable(BUF, 16);
    d.addBuffer(INDIRECT, 32, DESC_F_INDIRECT);
    d.submitIndirect(0);
    assertMalformed(d, q, QueueError.INDIRECT_NESTED);
  }

  @Test
  void indirectWithNext() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.writeDescriptor(0, INDIRECT, 32, DESC_F_INDIRECT | DESC_F_NEXT, 1);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.INDIRECT_WITH_NEXT);
  }

  @Test
  void indirectTableUnmapped() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.writeDescriptor(0, BASE + (1 << 20) - 16, 32, DESC_F_INDIRECT, 0);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.INDIRECT_TABLE_UNMAPPED);
  }

  @Test
  void indirectLoopIsBoundedByTableSize() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    memory.putU64(INDIRECT, BUF);
    memory.putU32(INDIRECT + 8, 16);
    memory.putU16(INDIRECT + 12, DESC_F_NEXT);
    memory.putU16(INDIRECT + 14, 1);
    memory.putU64(INDIRECT + 16, BUF);
    memory.putU32(INDIRECT + 24, 16);
    memory.putU16(INDIRECT + 28, DESC_F_NEXT);
    memory.putU16(INDIRECT + 30, 0);
    d.writeDescriptor(0, INDIRECT, 32, DESC_F_INDIRECT, 0);
    publishHead(d, 0);
    markOutstanding(d, 0);
    assertMalformed(d, q, QueueError.CHAIN_LOOP);
  }

  @Test
  void writableBufferInReadOnlyRegion() throws Exception {
    MemoryRegion rw = MemoryRegion.allocate(0, 0x10000);
    MemoryRegion backing = MemoryRegion.allocate(0x10000, 0x1000);
    MemoryRegion ro =
        MemoryRegion.wrap(0x10000, backing.hostAddress(), 0x1000, false, backing::close);
    try (GuestMemory mixed = GuestMemory.of(rw, ro)) {
      SplitRingDriver d = SplitRingDriver.layout(mixed, 0, 4, false);
      SplitQueue q = SplitQueue.activate(mixed, d.queueSetup(0), FEATURES, 4, 16, notifier);
      d.startChain();
      d.addReadable(0x10000, 16); // reading a ROM is fine
      d.addWritable(0x10010, 16);
      d.submitDirect(0);
      DescriptorChain c = q.newChain();
      assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_MALFORMED);
      assertThat(c.error()).isEqualTo(QueueError.BUFFER_READ_ONLY);
    }
  }

  @Test
  void chainTooLongForTheSegmentLimit() throws Exception {
    SplitRingDriver d = driver(16, false);
    SplitQueue q = queue(d, FEATURES);
    // An indirect table of 20 entries is fine with the default limit ...
    SplitRingDriver di = d.useIndirectArea(INDIRECT, 32);
    di.startChain();
    for (int i = 0; i < 20; i++) {
      di.addReadable(BUF + i * 16, 16);
    }
    di.submitIndirect(0);
    DescriptorChain c = q.newChain();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    assertThat(c.descriptors()).isEqualTo(20);
  }

  // --- ring-level faults: NEEDS_RESET, queue stops ---

  @Test
  void availIndexOverrunBreaksTheQueue() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.setAvailIdx(9);
    DescriptorChain c = q.newChain();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_BROKEN);
    assertThat(q.isBroken()).isTrue();
    assertThat(q.errorCount(QueueError.AVAIL_IDX_OVERRUN)).isEqualTo(1);
    assertThat(notifier.resets()).hasSize(1);
    assertThat(notifier.resets().get(0)).contains("AVAIL_IDX_OVERRUN");
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_BROKEN);
    assertThat(notifier.resets()).hasSize(1);
  }

  @Test
  void availIndexExactlyQueueSizeAheadIsFine() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    for (int i = 0; i < 8; i++) {
      d.startChain();
      d.addReadable(BUF, 16);
      d.submitDirect(i);
    }
    DescriptorChain c = q.newChain();
    for (int i = 0; i < 8; i++) {
      assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    }
    assertThat(q.inFlight()).isEqualTo(8);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_EMPTY);
  }

  @Test
  void headOutOfRangeBreaksTheQueue() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    publishHead(d, 8);
    assertThat(q.pop(q.newChain())).isEqualTo(Virtqueue.POP_BROKEN);
    assertThat(q.errorCount(QueueError.HEAD_OUT_OF_RANGE)).isEqualTo(1);
    assertThat(notifier.resets()).hasSize(1);
  }

  @Test
  void headStillInFlightIsNotAcceptedTwice() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    d.startChain();
    d.addReadable(BUF, 16);
    int head = d.submitDirect(0);
    DescriptorChain c = q.newChain();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    publishHead(d, head);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_BROKEN);
    assertThat(q.errorCount(QueueError.HEAD_IN_FLIGHT)).isEqualTo(1);
    assertThat(q.inFlight()).isEqualTo(1);
  }

  @Test
  void usedForHeadNotInFlightIsIgnored() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, FEATURES);
    q.addUsed(3, 1);
    q.addUsed(-1, 1);
    q.addUsed(99, 1);
    assertThat(q.usedNotInFlight()).isEqualTo(3);
    assertThat(d.usedIdx()).isZero();
  }

  // --- activation ---

  @Test
  void activationChecksSizeAlignmentAndMapping() {
    QueueSetup ok = new QueueSetup(0, 8, RING, RING + 0x100, RING + 0x200, 0, 0);
    assertThatThrownBy(() -> activate(withSize(ok, 12)))
        .isInstanceOf(QueueSetupException.class)
        .hasMessageContaining("size 12");
    assertThatThrownBy(() -> activate(withSize(ok, 512))).hasMessageContaining("size 512");
    assertThatThrownBy(
            () -> activate(new QueueSetup(0, 8, RING + 8, RING + 0x100, RING + 0x200, 0, 0)))
        .hasMessageContaining("descriptor table")
        .hasMessageContaining("16-byte aligned");
    assertThatThrownBy(() -> activate(new QueueSetup(0, 8, RING, RING + 0x101, RING + 0x200, 0, 0)))
        .hasMessageContaining("available ring");
    assertThatThrownBy(() -> activate(new QueueSetup(0, 8, RING, RING + 0x100, RING + 0x202, 0, 0)))
        .hasMessageContaining("used ring");
    assertThatThrownBy(
            () -> activate(new QueueSetup(0, 8, 0x1000, RING + 0x100, RING + 0x200, 0, 0)))
        .hasMessageContaining("not inside one guest memory region");
    long end = BASE + (1 << 20);
    // Without EVENT_IDX a used ring may end flush with RAM; with it, the 2 extra bytes must fit.
    QueueSetup tight = new QueueSetup(0, 8, RING, RING + 0x100, end - (4 + 8 * 8), 0, 0);
    assertThatThrownBy(() -> activate(tight)).hasMessageContaining("used ring");
  }

  @Test
  void usedRingFlushWithEndOfMemoryWithoutEventIdx() throws Exception {
    long end = BASE + (1 << 20);
    QueueSetup tight = new QueueSetup(0, 8, RING, RING + 0x100, end - (4 + 8 * 8), 0, 0);
    SplitQueue q =
        SplitQueue.activate(
            memory, tight, VirtioFeatures.bit(VirtioFeatures.VERSION_1), 256, 16, notifier);
    assertThat(q.size()).isEqualTo(8);
  }

  private void activate(QueueSetup s) throws QueueSetupException {
    SplitQueue.activate(memory, s, FEATURES, 256, 16, notifier);
  }

  private static QueueSetup withSize(QueueSetup s, int size) {
    return new QueueSetup(
        s.index(), size, s.descAddr(), s.driverAddr(), s.deviceAddr(), s.nextAvail(), s.nextUsed());
  }

  // --- notification suppression ---

  @Test
  void withoutEventIdxNoNotifyAndNoInterruptFlagsAreHonoured() throws Exception {
    SplitRingDriver d = driver(8, false);
    SplitQueue q = queue(d, VirtioFeatures.bit(VirtioFeatures.VERSION_1));
    q.disableNotifications();
    d.startChain();
    d.addReadable(BUF, 16);
    d.submitDirect(0);
    assertThat(d.kickNeeded()).isFalse();
    assertThat(q.enableNotifications()).isTrue();
    assertThat(d.kickNeeded()).isFalse(); // nothing new since the last decision
    DescriptorChain c = q.newChain();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    assertThat(q.enableNotifications()).isFalse();
    d.startChain();
    d.addReadable(BUF, 16);
    d.submitDirect(0);
    assertThat(d.kickNeeded()).isTrue();

    d.disableInterrupts();
    q.addUsed(c.head(), 0);
    assertThat(q.notifyIfNeeded()).isFalse();
    assertThat(q.interruptsSuppressed()).isEqualTo(1);
    assertThat(d.enableInterrupts()).isTrue(); // an entry is pending already
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    q.addUsed(c.head(), 0);
    assertThat(q.notifyIfNeeded()).isTrue();
    assertThat(q.interruptsSent()).isEqualTo(1);
  }

  @Test
  void eventIdxBothWays() throws Exception {
    SplitRingDriver d = driver(8, true);
    SplitQueue q = queue(d, FEATURES);
    assertThat(d.availEvent()).isZero();
    DescriptorChain c = q.newChain();
    // Three requests, one kick for the first only (avail_event stays 0 while the device polls).
    int kicks = 0;
    for (int i = 0; i < 3; i++) {
      d.startChain();
      d.addReadable(BUF, 16);
      d.submitDirect(i);
      kicks += d.kickNeeded() ? 1 : 0;
    }
    assertThat(kicks).isEqualTo(1);
    assertThat(d.usedFlags()).isZero(); // never NO_NOTIFY with EVENT_IDX
    // The driver wants an interrupt only once the second completion is in (used_event = 1).
    d.setUsedEvent(1);
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    q.addUsed(c.head(), 0);
    assertThat(q.notifyIfNeeded()).isFalse();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    q.addUsed(c.head(), 0);
    assertThat(q.notifyIfNeeded()).isTrue();
    assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
    q.addUsed(c.head(), 0);
    assertThat(q.notifyIfNeeded()).isFalse(); // used_event 1 already passed
    assertThat(q.enableNotifications()).isFalse();
    assertThat(d.availEvent()).isEqualTo(3);
    d.startChain();
    d.addReadable(BUF, 16);
    d.submitDirect(9);
    assertThat(d.kickNeeded()).isTrue();
  }

  @Test
  void avaiEventIsNeverWrittenWithoutEventIdx() throws Exception {
    SplitRingDriver d = driver(8, true); // room for the field, but the feature is off
    long availEvent = d.usedAddr() + SplitRing.availEventOffset(8);
    memory.putU16(availEvent, 0xBEEF);
    SplitQueue q = queue(d, VirtioFeatures.bit(VirtioFeatures.VERSION_1));
    q.disableNotifications();
    q.enableNotifications();
    assertThat(memory.u16(availEvent)).isEqualTo(0xBEEF);
  }

  @Test
  void indicesWrapAt65536() throws Exception {
    SplitRingDriver d = driver(4, true);
    QueueSetup s = d.queueSetup(0);
    d.rewindIndices(0xFFFE);
    SplitQueue q =
        SplitQueue.activate(
            memory,
            new QueueSetup(0, 4, s.descAddr(), s.driverAddr(), s.deviceAddr(), 0xFFFE, 0xFFFE),
            FEATURES,
            4,
            16,
            notifier);
    DescriptorChain c = q.newChain();
    for (int i = 0; i < 10; i++) {
      d.startChain();
      d.addReadable(BUF, 16);
      int head = d.submitDirect(i);
      assertThat(q.pop(c)).isEqualTo(Virtqueue.POP_CHAIN);
      assertThat(c.head()).isEqualTo(head);
      q.addUsed(head, 3);
      assertThat(d.pollUsed()).isEqualTo(head);
      assertThat(d.lastToken()).isEqualTo(i);
    }
    assertThat(q.usedIdx()).isEqualTo(8);
  }
}
