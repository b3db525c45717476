package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkStatus.IOERR;
import static dev.vdisk.virtio.blk.BlkStatus.OK;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.backend.ForwardingBlockDevice;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.SplitRingDriver;
import dev.vdisk.virtio.queue.QueueError;
import dev.vdisk.virtio.queue.SplitRing;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Limits and promises of issue 3 that need a device-level look: WRITE_ZEROES's UNMAP flag reaching
 * the backend exactly when allowed, range overflow on every range type, the in-flight cap at a full
 * ring, avail_event never written without EVENT_IDX while the device serves, and the queue-size
 * bounds.
 */
class BlkLimitsTest {
  private static final long MIB = 1 << 20;

  /** A RAM disk that records every writeZeroes call and says whether it may deallocate. */
  static final class RecordingDisk extends ForwardingBlockDevice {
    final List<String> writeZeroes = Collections.synchronizedList(new ArrayList<>());
    final boolean mayUnmap;

    RecordingDisk(BlockDevice inner, boolean mayUnmap) {
      super(inner);
      this.mayUnmap = mayUnmap;
    }

    @Override
    public BlockCapabilities capabilities() {
      BlockCapabilities c = inner.capabilities();
      return new BlockCapabilities(
          c.flush(), c.discard(), true, mayUnmap, c.secureErase(), c.maxDiscardBytes(), 0);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
      writeZeroes.add(offset + "+" + length + (unmap ? " unmap" : " keep"));
      super.writeZeroes(offset, length, unmap);
    }
  }

  @ParameterizedTest(name = "async {0}, backend may unmap {1}")
  @CsvSource({"false,true", "false,false", "true,true", "true,false"})
  void writeZeroesUnmapReachesTheBackendOnlyWhenAllowed(boolean async, boolean mayUnmap)
      throws IOException {
    RamDisk ram = RamDisk.create(4 * MIB); // 64 KiB chunks, freed only by an unmapping zero
    byte[] orig = new byte[(int) MIB];
    new Random(3).nextBytes(orig);
    BytesStore<?, Void> staging = BytesStore.nativeStoreWithFixedCapacity(MIB);
    staging.write(0, orig);
    ram.write(0, staging, 0, orig.length);
    long allocated = ram.allocatedBytes();
    assertThat(allocated).isEqualTo(MIB);
    RecordingDisk recording = new RecordingDisk(ram, mayUnmap);
    TestAsyncDisk asyncDisk = async ? new TestAsyncDisk(recording, false) : null;
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(async ? asyncDisk : recording).maxWriteZeroesSegments(2).build();
    assertThat(d.readConfig(BlkConfigLayout.WRITE_ZEROES_MAY_UNMAP, 1))
        .isEqualTo(mayUnmap ? 1L : 0L);
    try (BlkHarness h = BlkHarness.of(d)) {
      long list = h.ranges(new long[][] {{0, 128, BlkConfigLayout.RANGE_F_UNMAP}, {256, 128, 0}});
      int head =
          h.submit(0, BlkRequestType.WRITE_ZEROES, 0, new long[] {list}, new int[] {32}, false);
      d.queueNotified(0);
      if (async) {
        assertThat(asyncDisk.completeAll(new Random(1))).isEqualTo(2);
      }
      assertThat(h.rings[0].pollUsed()).isEqualTo(head);
      assertThat(h.clients[0].status(head)).isEqualTo(OK);
    }
    // The guest's UNMAP reaches the backend only where write_zeroes_may_unmap said 1.
    assertThat(recording.writeZeroes)
        .containsExactly("0+65536" + (mayUnmap ? " unmap" : " keep"), "131072+65536 keep");
    assertThat(ram.allocatedBytes()).isEqualTo(mayUnmap ? allocated - 65536 : allocated);
    byte[] got = new byte[(int) MIB];
    ram.read(0, staging, 0, got.length);
    staging.read(0, got, 0, got.length);
    staging.releaseLast();
    for (int i = 0; i < MIB; i++) {
      boolean zeroed = i < 65536 || (i >= 131072 && i < 196608);
      if (zeroed ? got[i] != 0 : got[i] != orig[i]) {
        throw new AssertionError("byte " + i + (zeroed ? " not zeroed" : " changed"));
      }
    }
  }

  /** Sector arithmetic that wraps, on every range type: IOERR before any range runs. */
  @Test
  void rangeOverflowIsRefusedForEveryRangeType() {
    RamDisk disk = RamDisk.create(MIB);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk)
            .secureErase(true)
            .maxDiscardSegments(2)
            .maxWriteZeroesSegments(2)
            .maxSecureEraseSegments(2)
            .build();
    long cap = MIB / 512;
    long[][] overflowing = {
      {-8L, 16}, // sector + num wraps past 2^64
      {Long.MAX_VALUE - 7, 16}, // sector + num wraps past 2^63
      {1L << 55, 8}, // sector * 512 overflows a long
      {cap - 8, 16}, // ends past the capacity
      {cap, 8}, // starts at the capacity
    };
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(MIB, 4096);
      h.fill(buf, (int) MIB, 9);
      assertThat(h.write(0, buf, (int) MIB)).isEqualTo(OK);
      int[] types = {
        BlkRequestType.DISCARD, BlkRequestType.WRITE_ZEROES, BlkRequestType.SECURE_ERASE
      };
      int expectedErrors = 0;
      for (int type : types) {
        for (long[] bad : overflowing) {
          // a good range first: the whole list is validated before anything runs
          long list = h.ranges(new long[][] {{0, 8, 0}, {bad[0], bad[1], 0}});
          assertThat(h.request(0, type, 0, new long[] {list}, new int[] {32}, false))
              .as("type %d range %d+%d", type, bad[0], bad[1])
              .isEqualTo(IOERR);
          expectedErrors++;
        }
      }
      assertThat(h.stats(0).errors(BlkError.OUT_OF_RANGE)).isEqualTo(expectedErrors);
      long back = h.alloc(MIB, 4096);
      assertThat(h.read(0, back, (int) MIB)).isEqualTo(OK);
      assertThat(h.bytes(back, (int) MIB)).isEqualTo(h.bytes(buf, (int) MIB));
    }
  }

  /**
   * In-flight work is capped by the ring itself: a full ring of requests held by the backend is the
   * most the device takes; a head offered again while in flight stops the queue without being
   * counted twice, and every held request still completes exactly once.
   */
  @Test
  void inFlightIsCappedAtTheQueueSize() {
    TestAsyncDisk disk = new TestAsyncDisk(RamDisk.create(MIB), false);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).queueSize(16).build();
    try (BlkHarness h = new BlkHarness(d, -1L, true, 16 * MIB)) {
      SplitRingDriver ring = h.rings[0];
      long buf = h.alloc(16 * 512, 512);
      List<Integer> heads = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        heads.add(
            h.submit(0, BlkRequestType.IN, i, new long[] {buf + 512L * i}, new int[] {512}, true));
      }
      assertThat(ring.numFree()).isZero();
      d.queueNotified(0);
      assertThat(disk.pendingCount()).isEqualTo(16);
      assertThat(h.stats(0).inFlight()).isEqualTo(16);
      // Hostile: one more entry naming a head the device still owns.
      ring.putAvailRing(ring.availIdx(), heads.get(3));
      ring.setAvailIdx(ring.availIdx() + 1);
      d.queueNotified(0);
      assertThat(h.stats(0).queueErrors(QueueError.HEAD_IN_FLIGHT)).isEqualTo(1);
      assertThat(h.stats(0).inFlight()).isEqualTo(16);
      assertThat(disk.pendingCount()).as("nothing more reached the backend").isEqualTo(16);
      assertThat(h.notifier.resets()).hasSize(1);
      assertThat(disk.completeAll(new Random(3))).isEqualTo(16);
      List<Integer> back = new ArrayList<>();
      int head;
      while ((head = ring.pollUsed()) >= 0) {
        back.add(head);
      }
      assertThat(back).containsExactlyInAnyOrderElementsOf(heads);
      assertThat(h.stats(0).inFlight()).isZero();
    } finally {
      try {
        disk.close();
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }
  }

  /**
   * Without EVENT_IDX the two bytes after the used ring belong to the guest (rust-hypervisor-
   * firmware #33, Cloud Hypervisor #928): a device serving many requests, with notifications
   * disabled and re-enabled on every pass, never writes them; with EVENT_IDX it does.
   */
  @ParameterizedTest(name = "EVENT_IDX {0}")
  @CsvSource({"false", "true"})
  void availEventIsWrittenOnlyWithEventIdx(boolean eventIdx) {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(8).build();
    long mask = eventIdx ? -1L : ~VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
    try (BlkHarness h = new BlkHarness(d, mask, false, 16 * MIB)) {
      SplitRingDriver ring = h.rings[0];
      assertThat(ring.eventIdx()).isEqualTo(eventIdx);
      long availEvent = ring.usedAddr() + SplitRing.availEventOffset(8);
      h.memory.putU16(availEvent, 0xBEEF);
      long buf = h.alloc(4096, 4096);
      for (int i = 0; i < 40; i++) {
        assertThat(h.read(i, buf, 512 * (1 + i % 8))).isEqualTo(OK);
      }
      assertThat(h.stats(0).usedIdx()).isEqualTo(40);
      if (eventIdx) {
        assertThat(h.memory.u16(availEvent)).isEqualTo(40);
      } else {
        assertThat(h.memory.u16(availEvent)).isEqualTo(0xBEEF);
      }
    }
  }

  @Test
  void queueSizeBoundsAreTheSplitRingsOwn() {
    RamDisk disk = RamDisk.create(MIB);
    assertThat(VirtioBlkDevice.builder(disk).queueSize(32768).build().maxQueueSize())
        .isEqualTo(32768);
    assertThat(VirtioBlkDevice.builder(disk).queueSize(2).build().maxQueueSize()).isEqualTo(2);
    for (int bad : new int[] {65536, 1, 0, -2, 3, 32767}) {
      assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).queueSize(bad).build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("queueSize " + bad)
          .hasMessageContaining("32768");
    }
  }

  /** Every field of the 0x60-byte config image with every optional feature offered. */
  @Test
  void everyConfigFieldWhenEveryFeatureIsOffered() {
    RamDisk disk = RamDisk.create(64 * MIB);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk)
            .queues(4)
            .sizeMax(65536)
            .segMax(100)
            .secureErase(true)
            .maxDiscardSegments(8)
            .maxWriteZeroesSegments(4)
            .maxSecureEraseSegments(2)
            .maxDiscardSectors(2048)
            .writeback(true)
            .lifetime(1, 2, 3)
            .build();
    long f = d.deviceFeatures();
    for (int b :
        new int[] {
          BlkFeatures.SIZE_MAX,
          BlkFeatures.SEG_MAX,
          BlkFeatures.GEOMETRY,
          BlkFeatures.BLK_SIZE,
          BlkFeatures.FLUSH,
          BlkFeatures.TOPOLOGY,
          BlkFeatures.CONFIG_WCE,
          BlkFeatures.MQ,
          BlkFeatures.DISCARD,
          BlkFeatures.WRITE_ZEROES,
          BlkFeatures.LIFETIME,
          BlkFeatures.SECURE_ERASE
        }) {
      assertThat(f & (1L << b)).as("feature bit %d", b).isNotZero();
    }
    assertThat(f & (1L << BlkFeatures.RO)).isZero();
    var g = disk.geometry();
    assertThat(d.readConfig(BlkConfigLayout.CAPACITY, 8)).isEqualTo(64 * MIB / 512);
    assertThat(d.readConfig(BlkConfigLayout.SIZE_MAX, 4)).isEqualTo(65536);
    assertThat(d.readConfig(BlkConfigLayout.SEG_MAX, 4)).isEqualTo(100);
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_CYLINDERS, 2)).isEqualTo(g.cylinders());
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_HEADS, 1)).isEqualTo(g.heads());
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_SECTORS, 1)).isEqualTo(g.sectorsPerTrack());
    assertThat(d.readConfig(BlkConfigLayout.BLK_SIZE, 4)).isEqualTo(512);
    // topology: physical block = logical block, aligned, no I/O size hints (QEMU's defaults)
    assertThat(d.readConfig(BlkConfigLayout.TOPOLOGY_PHYSICAL_BLOCK_EXP, 8)).isZero();
    assertThat(d.readConfig(BlkConfigLayout.WRITEBACK, 1)).isEqualTo(1);
    assertThat(d.readConfig(BlkConfigLayout.WRITEBACK + 1, 1)).as("unused0").isZero();
    assertThat(d.readConfig(BlkConfigLayout.NUM_QUEUES, 2)).isEqualTo(4);
    assertThat(d.readConfig(BlkConfigLayout.MAX_DISCARD_SECTORS, 4)).isEqualTo(2048);
    assertThat(d.readConfig(BlkConfigLayout.MAX_DISCARD_SEG, 4)).isEqualTo(8);
    assertThat(d.readConfig(BlkConfigLayout.DISCARD_SECTOR_ALIGNMENT, 4)).isEqualTo(128);
    assertThat(d.readConfig(BlkConfigLayout.MAX_WRITE_ZEROES_SECTORS, 4)).isEqualTo(2048);
    assertThat(d.readConfig(BlkConfigLayout.MAX_WRITE_ZEROES_SEG, 4)).isEqualTo(4);
    assertThat(d.readConfig(BlkConfigLayout.WRITE_ZEROES_MAY_UNMAP, 1)).isEqualTo(1);
    assertThat(d.readConfig(BlkConfigLayout.WRITE_ZEROES_MAY_UNMAP + 1, 2)).as("unused1").isZero();
    assertThat(d.readConfig(BlkConfigLayout.MAX_SECURE_ERASE_SECTORS, 4)).isEqualTo(2048);
    assertThat(d.readConfig(BlkConfigLayout.MAX_SECURE_ERASE_SEG, 4)).isEqualTo(2);
    assertThat(d.readConfig(BlkConfigLayout.SECURE_ERASE_SECTOR_ALIGNMENT, 4)).isEqualTo(128);
    for (int off = 0x48; off < BlkConfigLayout.SIZE; off++) {
      assertThat(d.readConfig(off, 1)).as("zoned/unused byte 0x%x", off).isZero();
    }
  }
}
