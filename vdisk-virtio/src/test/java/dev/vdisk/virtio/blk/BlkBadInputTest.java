package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.queue.SplitRing.DESC_F_INDIRECT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_NEXT;
import static dev.vdisk.virtio.queue.SplitRing.DESC_F_WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.queue.QueueError;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every class of malformed chain, through the whole device: the head comes back on the used ring
 * with len 0 (chain tier) or the device asks for a reset and stops the queue (ring tier); nothing
 * is written into the request's buffers; the matching counters move; and for chain-tier faults the
 * queue keeps serving good requests.
 */
class BlkBadInputTest {
  private static final long MIB = 1 << 20;

  /** Writes a bad chain at descriptor 0 (table of the given harness) and publishes head 0. */
  private static void badChain(BlkHarness h, QueueError kind, long buf, long status) {
    SplitRingDriver ring = h.rings[0];
    long hdr = buf;
    h.memory.putU32(hdr, BlkRequestType.IN);
    h.memory.putU64(hdr + 8, 0);
    long data = buf + 0x1000;
    long table = buf + 0x4000;
    long end = BlkHarness.MEM_BASE + 16 * MIB;
    switch (kind) {
      case NEXT_OUT_OF_RANGE -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, ring.size());
      }
      case CHAIN_LOOP -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, data, 512, DESC_F_NEXT | DESC_F_WRITE, 2);
        ring.writeDescriptor(2, status, 1, DESC_F_NEXT | DESC_F_WRITE, 1);
      }
      case CHAIN_TOO_LONG -> {
        // 10 direct descriptors, then an indirect table of 10: 20 > the limit of 16.
        for (int i = 0; i < 10; i++) {
          ring.writeDescriptor(i, hdr, 16, DESC_F_NEXT, i + 1);
        }
        ring.writeDescriptor(10, table, 160, DESC_F_INDIRECT, 0);
        for (int i = 0; i < 10; i++) {
          h.memory.putU64(table + 16L * i, status);
          h.memory.putU32(table + 16L * i + 8, 1);
          h.memory.putU16(table + 16L * i + 12, DESC_F_WRITE | (i < 9 ? DESC_F_NEXT : 0));
          h.memory.putU16(table + 16L * i + 14, i + 1);
        }
      }
      case INDIRECT_NOT_NEGOTIATED, INDIRECT_BAD_LENGTH, INDIRECT_TOO_LARGE -> {
        long len =
            kind == QueueError.INDIRECT_BAD_LENGTH
                ? 40
                : kind == QueueError.INDIRECT_TOO_LARGE ? 16 * 17 : 48;
        writeIndirectRequest(h, table, hdr, data, status);
        ring.writeDescriptor(0, table, (int) len, DESC_F_INDIRECT, 0);
      }
      case INDIRECT_NESTED -> {
        writeIndirectRequest(h, table, hdr, data, status);
        h.memory.putU16(table + 16 + 12, DESC_F_INDIRECT | DESC_F_NEXT);
        ring.writeDescriptor(0, table, 48, DESC_F_INDIRECT, 0);
      }
      case INDIRECT_WITH_NEXT -> {
        writeIndirectRequest(h, table, hdr, data, status);
        ring.writeDescriptor(0, table, 48, DESC_F_INDIRECT | DESC_F_NEXT, 1);
      }
      case INDIRECT_TABLE_UNMAPPED -> {
        ring.writeDescriptor(0, end - 32, 48, DESC_F_INDIRECT, 0);
      }
      case READABLE_AFTER_WRITABLE -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, data, 512, DESC_F_NEXT | DESC_F_WRITE, 2);
        ring.writeDescriptor(2, data, 512, DESC_F_NEXT, 3);
        ring.writeDescriptor(3, status, 1, DESC_F_WRITE, 0);
      }
      case ZERO_LENGTH_BUFFER -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, data, 0, DESC_F_NEXT | DESC_F_WRITE, 2);
        ring.writeDescriptor(2, status, 1, DESC_F_WRITE, 0);
      }
      case CHAIN_BYTES_OVERFLOW -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, data, 0xFFFF_FFF0, DESC_F_NEXT | DESC_F_WRITE, 2);
        ring.writeDescriptor(2, status, 1, DESC_F_WRITE, 0);
      }
      case BUFFER_UNMAPPED -> {
        ring.writeDescriptor(0, hdr, 16, DESC_F_NEXT, 1);
        ring.writeDescriptor(1, end - 256, 512, DESC_F_NEXT | DESC_F_WRITE, 2);
        ring.writeDescriptor(2, status, 1, DESC_F_WRITE, 0);
      }
      default -> throw new IllegalArgumentException(kind.toString());
    }
    ring.putAvailRing(ring.availIdx(), 0);
    ring.markOutstanding(0, 0);
    ring.setAvailIdx(ring.availIdx() + 1);
  }

  private static void writeIndirectRequest(
      BlkHarness h, long table, long hdr, long data, long status) {
    long[][] d = {{hdr, 16, DESC_F_NEXT}, {data, 512, DESC_F_NEXT | DESC_F_WRITE}, {status, 1, 2}};
    for (int i = 0; i < 3; i++) {
      h.memory.putU64(table + 16L * i, d[i][0]);
      h.memory.putU32(table + 16L * i + 8, d[i][1]);
      h.memory.putU16(table + 16L * i + 12, (int) d[i][2]);
      h.memory.putU16(table + 16L * i + 14, i + 1);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = QueueError.class,
      names = {
        "NEXT_OUT_OF_RANGE",
        "CHAIN_LOOP",
        "CHAIN_TOO_LONG",
        "INDIRECT_NOT_NEGOTIATED",
        "INDIRECT_BAD_LENGTH",
        "INDIRECT_TOO_LARGE",
        "INDIRECT_NESTED",
        "INDIRECT_WITH_NEXT",
        "INDIRECT_TABLE_UNMAPPED",
        "READABLE_AFTER_WRITABLE",
        "ZERO_LENGTH_BUFFER",
        "CHAIN_BYTES_OVERFLOW",
        "BUFFER_UNMAPPED"
      })
  void malformedChainIsReturnedWithLenZeroAndTheQueueGoesOn(QueueError kind) {
    assertThat(kind.tier()).isEqualTo(QueueError.Tier.CHAIN);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(16).maxChainDescriptors(16).build();
    long mask =
        kind == QueueError.INDIRECT_NOT_NEGOTIATED
            ? ~VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
            : -1L;
    try (BlkHarness h = new BlkHarness(d, mask, false, 16 * MIB)) {
      long buf = h.alloc(0x8000, 4096);
      long status = h.alloc(1, 1);
      h.fill(buf + 0x1000, 512, 3);
      byte[] dataBefore = h.bytes(buf + 0x1000, 512);
      h.memory.putU8(status, 0xFF);
      badChain(h, kind, buf, status);
      d.queueNotified(0);
      SplitRingDriver ring = h.rings[0];
      assertThat(ring.pollUsed()).isZero();
      assertThat(ring.lastUsedLen()).isZero();
      assertThat(h.memory.u8(status)).isEqualTo(0xFF);
      assertThat(h.bytes(buf + 0x1000, 512)).isEqualTo(dataBefore);
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.queueErrors(kind)).isEqualTo(1);
      assertThat(s.errors(BlkError.CHAIN_MALFORMED)).isEqualTo(1);
      assertThat(s.broken()).isFalse();
      assertThat(h.notifier.resets()).isEmpty();
      // Not parsed again, and the next good request works.
      d.queueNotified(0);
      assertThat(s.queueErrors(kind)).isEqualTo(h.stats(0).queueErrors(kind));
      ring.reset();
      d.reset();
      d.activate(h.features, h.memory, List.of(ring.queueSetup(0)), h.notifier);
      assertThat(h.read(0, buf + 0x1000, 512)).isEqualTo(BlkStatus.OK);
    }
  }

  @Test
  void availIndexOverrunStopsTheQueueWithNeedsReset() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(16).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      ring.setAvailIdx(17);
      d.queueNotified(0);
      assertThat(h.notifier.resets()).hasSize(1);
      assertThat(h.notifier.resets().get(0)).contains("AVAIL_IDX_OVERRUN");
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.broken()).isTrue();
      assertThat(s.queueErrors(QueueError.AVAIL_IDX_OVERRUN)).isEqualTo(1);
      assertThat(ring.usedIdx()).isZero();
      // Stopped: more kicks do nothing until the driver resets the device.
      d.queueNotified(0);
      assertThat(h.notifier.resets()).hasSize(1);
      ring.reset();
      d.reset();
      d.activate(h.features, h.memory, List.of(ring.queueSetup(0)), h.notifier);
      long buf = h.alloc(512, 512);
      assertThat(h.read(0, buf, 512)).isEqualTo(BlkStatus.OK);
      assertThat(h.stats(0).queueErrors(QueueError.AVAIL_IDX_OVERRUN)).isEqualTo(1); // cumulative
    }
  }

  @Test
  void headOutOfRangeStopsTheQueue() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(16).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      ring.putAvailRing(0, 16);
      ring.setAvailIdx(1);
      d.queueNotified(0);
      assertThat(h.stats(0).broken()).isTrue();
      assertThat(h.stats(0).queueErrors(QueueError.HEAD_OUT_OF_RANGE)).isEqualTo(1);
      assertThat(ring.usedIdx()).isZero();
    }
  }

  @Test
  void headStillInFlightIsRefused() {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), false);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).queueSize(16).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      long buf = h.alloc(512, 512);
      int head = h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      d.queueNotified(0);
      assertThat(d.stats().queue(0).inFlight()).isEqualTo(1);
      // A hostile driver makes the same head available again while the device still owns it.
      ring.putAvailRing(ring.availIdx(), head);
      ring.setAvailIdx(ring.availIdx() + 1);
      d.queueNotified(0);
      assertThat(h.stats(0).queueErrors(QueueError.HEAD_IN_FLIGHT)).isEqualTo(1);
      assertThat(h.stats(0).inFlight()).isEqualTo(1); // capped: never counted twice
      assertThat(h.notifier.resets()).hasSize(1);
      disk.completeAll(new Random(1));
      assertThat(ring.pollUsed()).isEqualTo(head); // completed exactly once
      assertThat(ring.pollUsed()).isEqualTo(-1);
    }
  }

  @Test
  void stopQueueReturnsTheNextAvailIndexAndStartQueueResumes() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(16).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      SplitRingDriver ring = h.rings[0];
      long buf = h.alloc(512, 512);
      for (int i = 0; i < 3; i++) {
        assertThat(h.read(i, buf, 512)).isEqualTo(BlkStatus.OK);
      }
      assertThat(d.stopQueue(0)).isEqualTo(3);
      int head = h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      d.queueNotified(0);
      assertThat(ring.hasUsed()).isFalse();
      assertThat(d.stats().ignoredNotifications()).isEqualTo(1);
      QueueSetup s = ring.queueSetup(0);
      assertThat(
              d.startQueue(
                  new QueueSetup(0, 16, s.descAddr(), s.driverAddr(), s.deviceAddr(), 3, 3)))
          .isTrue();
      assertThat(ring.pollUsed()).isEqualTo(head); // picked up at restart without a kick
      assertThat(d.stopQueue(5)).isZero(); // no such queue
    }
  }

  @Test
  void ringResetLetsTheDriverReconfigureOneQueue() {
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(MIB)).queues(2).ringReset(true).build();
    assertThat(d.deviceFeatures() & VirtioFeatures.bit(VirtioFeatures.RING_RESET)).isNotZero();
    try (BlkHarness h = new BlkHarness(d, -1L, false, 32 * MIB)) {
      long buf = h.alloc(512, 512);
      assertThat(h.request(1, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true))
          .isEqualTo(BlkStatus.OK);
      d.resetQueue(1);
      assertThat(d.stats().queue(1).running()).isFalse();
      // Queue 0 is untouched.
      assertThat(h.read(0, buf, 512)).isEqualTo(BlkStatus.OK);
      // Re-enable queue 1 with a smaller ring elsewhere.
      long base = h.alloc(SplitRingDriver.bytesNeeded(32), 4096);
      SplitRingDriver small = SplitRingDriver.layout(h.memory, base, 32, true);
      BlkRingClient client =
          new BlkRingClient(small, h.alloc(BlkRingClient.slotAreaBytes(32), 16), false);
      assertThat(d.startQueue(small.queueSetup(1))).isTrue();
      client.begin();
      client.data(buf, 512, true);
      int head = client.submit(BlkRequestType.IN, 0, 0);
      d.queueNotified(1);
      assertThat(small.pollUsed()).isEqualTo(head);
      assertThat(client.status(head)).isEqualTo(BlkStatus.OK);
      assertThat(d.stats().queue(1).size()).isEqualTo(32);
    }
  }

  @Test
  void queueBeyondCountOrWithoutMqIsNotStarted() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queues(2).build();
    long noMq = ~VirtioFeatures.bit(BlkFeatures.MQ);
    try (BlkHarness h = new BlkHarness(d, noMq, false, 16 * MIB)) {
      SplitRingDriver extra =
          SplitRingDriver.layout(
              h.memory, h.alloc(SplitRingDriver.bytesNeeded(16), 4096), 16, false);
      assertThat(d.startQueue(extra.queueSetup(1))).isFalse(); // MQ not negotiated
      assertThat(d.startQueue(extra.queueSetup(7))).isFalse(); // no such queue
      assertThat(d.stats().activationFailures()).isEqualTo(2);
      d.queueNotified(1);
      d.queueNotified(-1);
      d.queueNotified(65535);
      assertThat(d.stats().ignoredNotifications()).isEqualTo(3);
    }
  }
}
