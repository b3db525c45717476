package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkStatus.IOERR;
import static dev.vdisk.virtio.blk.BlkStatus.OK;
import static dev.vdisk.virtio.blk.BlkStatus.UNSUPP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.ForwardingBlockDevice;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.driver.BlkRingClient;
import dev.vdisk.virtio.queue.SplitRing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VirtioBlkDeviceTest {
  private static final long MIB = 1 << 20;

  private static long bit(int b) {
    return 1L << b;
  }

  // --- features and config space ---

  @Test
  void defaultProfileOffersQemuLikeFeatures() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(64 * MIB)).build();
    long f = d.deviceFeatures();
    assertThat(f)
        .isEqualTo(
            bit(VirtioFeatures.VERSION_1)
                | bit(VirtioFeatures.RING_INDIRECT_DESC)
                | bit(VirtioFeatures.RING_EVENT_IDX)
                | bit(BlkFeatures.SEG_MAX)
                | bit(BlkFeatures.GEOMETRY)
                | bit(BlkFeatures.BLK_SIZE)
                | bit(BlkFeatures.TOPOLOGY)
                | bit(BlkFeatures.FLUSH)
                | bit(BlkFeatures.CONFIG_WCE)
                | bit(BlkFeatures.DISCARD)
                | bit(BlkFeatures.WRITE_ZEROES));
    assertThat(d.maxQueueSize()).isEqualTo(256);
    assertThat(d.queueCount()).isEqualTo(1);
    assertThat(d.deviceId()).isEqualTo(2);
    assertThat(d.readConfig(BlkConfigLayout.CAPACITY, 8)).isEqualTo(64 * MIB / 512);
    assertThat(d.readConfig(BlkConfigLayout.SEG_MAX, 4)).isEqualTo(254);
    assertThat(d.readConfig(BlkConfigLayout.BLK_SIZE, 4)).isEqualTo(512);
    assertThat(d.readConfig(BlkConfigLayout.SIZE_MAX, 4)).isZero();
    var g = RamDisk.create(64 * MIB).geometry();
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_HEADS, 1)).isEqualTo(g.heads());
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_SECTORS, 1)).isEqualTo(g.sectorsPerTrack());
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_CYLINDERS, 2)).isEqualTo(g.cylinders());
    assertThat(d.readConfig(BlkConfigLayout.NUM_QUEUES, 2)).isZero(); // MQ not offered
    assertThat(d.readConfig(BlkConfigLayout.MAX_DISCARD_SEG, 4)).isEqualTo(1);
    assertThat(d.readConfig(BlkConfigLayout.DISCARD_SECTOR_ALIGNMENT, 4)).isEqualTo(128);
    assertThat(d.readConfig(BlkConfigLayout.WRITE_ZEROES_MAY_UNMAP, 1)).isEqualTo(1);
    assertThat(d.readConfig(BlkConfigLayout.MAX_SECURE_ERASE_SEG, 4)).isZero();
    // RamDisk has no volatile cache: writethrough is the truthful default.
    assertThat(d.readConfig(BlkConfigLayout.WRITEBACK, 1)).isZero();
    // Any width at any offset, bytes beyond the structure read 0.
    assertThat(d.readConfig(1, 1)).isEqualTo((64 * MIB / 512 >>> 8) & 0xff);
    assertThat(d.readConfig(BlkConfigLayout.SIZE - 2, 4)).isZero();
    assertThat(d.readConfig(0x1000, 8)).isZero();
    assertThat(d.readConfig(-4, 8)).isZero();
    assertThat(d.readConfig(0, 3)).isZero();
    assertThat(d.configSize()).isEqualTo(0x60);
  }

  @Test
  void aeroProfileOffersExactlyTheContractSet() {
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(64 * MIB)).profile(Profile.AERO).build();
    assertThat(d.deviceFeatures())
        .isEqualTo(
            bit(VirtioFeatures.VERSION_1)
                | bit(VirtioFeatures.RING_INDIRECT_DESC)
                | bit(BlkFeatures.SEG_MAX)
                | bit(BlkFeatures.BLK_SIZE)
                | bit(BlkFeatures.FLUSH));
    assertThat(d.maxQueueSize()).isEqualTo(128);
    assertThat(d.queueCount()).isEqualTo(1);
    assertThat(d.readConfig(BlkConfigLayout.SEG_MAX, 4)).isEqualTo(126);
    assertThat(d.readConfig(BlkConfigLayout.SIZE_MAX, 4)).isZero();
    assertThat(d.readConfig(BlkConfigLayout.GEOMETRY_CYLINDERS, 4)).isZero();
    for (int off = 0x18; off < 0x60; off++) {
      assertThat(d.readConfig(off, 1)).as("config byte 0x%x", off).isZero();
    }
  }

  @Test
  void aeroProfileRefusesConflictingSettings() {
    BlockDevice disk = RamDisk.create(MIB);
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).profile(Profile.AERO).queues(2).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("queues 2")
        .hasMessageContaining("AERO");
    assertThatThrownBy(
            () -> VirtioBlkDevice.builder(disk).profile(Profile.AERO).queueSize(256).build())
        .hasMessageContaining("queueSize 256");
    assertThatThrownBy(
            () -> VirtioBlkDevice.builder(disk).profile(Profile.AERO).eventIdx(true).build())
        .hasMessageContaining("eventIdx");
    assertThatThrownBy(
            () ->
                VirtioBlkDevice.builder(ReadOnlyDevice.of(RamDisk.create(MIB)))
                    .profile(Profile.AERO)
                    .build())
        .hasMessageContaining("read-only");
  }

  @Test
  void builderNamesBadValues() {
    BlockDevice disk = RamDisk.create(MIB);
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).queueSize(300).build())
        .hasMessageContaining("queueSize 300");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).queues(0).build())
        .hasMessageContaining("queues 0");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).serial("x".repeat(21)).build())
        .hasMessageContaining("21 bytes");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).serial("a\nb").build())
        .hasMessageContaining("printable");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).segMax(2000).build())
        .hasMessageContaining("segMax 2000");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).sizeMax(100).build())
        .hasMessageContaining("sizeMax 100");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).lifetime(4, 0, 0))
        .hasMessageContaining("pre_eol_info 4");
    assertThatThrownBy(() -> VirtioBlkDevice.builder(disk).maxDiscardSegments(0).build())
        .hasMessageContaining("maxDiscardSegments 0");
  }

  @Test
  void readOnlyBackendOffersRoAndNoWriteSideFeatures() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(ReadOnlyDevice.of(RamDisk.create(MIB))).build();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.RO)).isNotZero();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.DISCARD)).isZero();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.WRITE_ZEROES)).isZero();
  }

  @Test
  void validateFeaturesRefusesUnofferedAndMissingVersion1() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).build();
    assertThat(d.validateFeatures(d.deviceFeatures())).isNull();
    assertThat(d.validateFeatures(bit(VirtioFeatures.VERSION_1))).isNull();
    assertThat(d.validateFeatures(bit(BlkFeatures.FLUSH))).contains("VERSION_1");
    assertThat(d.validateFeatures(d.deviceFeatures() | bit(BlkFeatures.RO)))
        .contains("did not offer");
  }

  // --- requests ---

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void writeThenReadRoundTrips(boolean indirect) {
    RamDisk disk = RamDisk.create(4 * MIB);
    try (BlkHarness h =
        new BlkHarness(VirtioBlkDevice.builder(disk).build(), -1L, indirect, 16 * MIB)) {
      long a = h.alloc(8192, 512);
      long b = h.alloc(8192, 512);
      h.fill(a, 8192, 1);
      assertThat(h.write(16, a, 8192)).isEqualTo(OK);
      assertThat(h.read(16, b, 8192)).isEqualTo(OK);
      assertThat(h.bytes(b, 8192)).isEqualTo(h.bytes(a, 8192));
      assertThat(h.rings[0].lastUsedLen()).isEqualTo(8193); // data + status
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.requests(BlkRequestType.STAT_IN)).isEqualTo(1);
      assertThat(s.requests(BlkRequestType.STAT_OUT)).isEqualTo(1);
      assertThat(s.bytesIn()).isEqualTo(8192);
      assertThat(s.bytesOut()).isEqualTo(8192);
      assertThat(s.totalErrors()).isZero();
      assertThat(s.chainLengthHistogram()[2]).isEqualTo(2); // header + data + status
    }
  }

  @Test
  void scatterGatherAcrossManySegmentsAndUnalignedBuffers() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(4 * MIB)).build())) {
      long src = h.alloc(4096 + 7, 1) + 7; // odd guest addresses are fine
      h.fill(src, 4096, 9);
      long[] bufs = new long[8];
      int[] lens = new int[8];
      for (int i = 0; i < 8; i++) {
        bufs[i] = src + i * 512L;
        lens[i] = 512;
      }
      assertThat(h.request(0, BlkRequestType.OUT, 100, bufs, lens, false)).isEqualTo(OK);
      long dst = h.alloc(4096, 1);
      // Read back in pieces of 1536 + 2560 bytes.
      assertThat(
              h.request(
                  0,
                  BlkRequestType.IN,
                  100,
                  new long[] {dst, dst + 1536},
                  new int[] {1536, 2560},
                  true))
          .isEqualTo(OK);
      assertThat(h.bytes(dst, 4096)).isEqualTo(h.bytes(src, 4096));
    }
  }

  @Test
  void readOfUnwrittenDiskIsZeroAndDataMatchesBackend() throws IOException {
    RamDisk disk = RamDisk.create(MIB);
    BytesStore<?, ?> pattern = BytesStore.nativeStoreWithFixedCapacity(4096);
    for (int i = 0; i < 4096; i++) {
      pattern.writeByte(i, (byte) (i * 13));
    }
    disk.write(8192, pattern, 0, 4096);
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(disk).build())) {
      long buf = h.alloc(8192, 512);
      h.fill(buf, 8192, 3);
      assertThat(h.read(8, buf, 8192)).isEqualTo(OK);
      byte[] got = h.bytes(buf, 8192);
      for (int i = 0; i < 4096; i++) {
        assertThat(got[i]).isZero();
        assertThat(got[4096 + i]).isEqualTo((byte) (i * 13));
      }
    } finally {
      pattern.releaseLast();
    }
  }

  @Test
  void headerSplitAcrossDescriptorsAndStatusSharingTheLastDataDescriptor() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long hdr = h.alloc(16, 8);
      h.memory.putU32(hdr, BlkRequestType.IN);
      h.memory.putU64(hdr + 8, 2);
      long data = h.alloc(1024 + 1, 8);
      h.fill(data, 1025, 5);
      var ring = h.rings[0];
      ring.startChain();
      ring.addReadable(hdr, 5); // header cut in three
      ring.addReadable(hdr + 5, 6);
      ring.addReadable(hdr + 11, 5);
      ring.addWritable(data, 512);
      ring.addWritable(data + 512, 513); // last data sector + the status byte
      int head = ring.submitDirect(0);
      h.device.queueNotified(0);
      assertThat(ring.pollUsed()).isEqualTo(head);
      assertThat(h.memory.u8(data + 1024)).isEqualTo(OK);
      assertThat(ring.lastUsedLen()).isEqualTo(1025);
      assertThat(h.bytes(data, 1024)).containsOnly(0);
    }
  }

  @Test
  void ioBeyondCapacityAndMisalignedAndEmptyAreIoerr() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long buf = h.alloc(4096, 512);
      long sectors = MIB / 512;
      assertThat(h.read(sectors - 1, buf, 512)).isEqualTo(OK);
      assertThat(h.read(sectors - 1, buf, 1024)).isEqualTo(IOERR);
      assertThat(h.read(sectors, buf, 512)).isEqualTo(IOERR);
      assertThat(h.read(-1L, buf, 512)).isEqualTo(IOERR); // sector 2^64 - 1
      assertThat(h.read(Long.MAX_VALUE / 256, buf, 512)).isEqualTo(IOERR); // sector * 512 overflows
      assertThat(h.write(0, buf, 100)).isEqualTo(IOERR);
      assertThat(h.request(0, BlkRequestType.IN, 0, new long[0], new int[0], true))
          .isEqualTo(IOERR);
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.errors(BlkError.OUT_OF_RANGE)).isEqualTo(4);
      assertThat(s.errors(BlkError.MISALIGNED)).isEqualTo(1);
      assertThat(s.errors(BlkError.NO_DATA)).isEqualTo(1);
      assertThat(h.rings[0].lastUsedLen()).isEqualTo(1); // errors report the status byte only
    }
  }

  @Test
  void wrongDataDirectionIsIoerr() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long buf = h.alloc(4096, 512);
      // IN with a device-readable data buffer; OUT with a device-writable one.
      assertThat(h.request(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, false))
          .isEqualTo(IOERR);
      assertThat(h.request(0, BlkRequestType.OUT, 0, new long[] {buf}, new int[] {512}, true))
          .isEqualTo(IOERR);
      assertThat(h.stats(0).errors(BlkError.WRONG_DIRECTION)).isEqualTo(2);
    }
  }

  @Test
  void blockSize4096RequiresAlignedRequests() {
    RamDisk disk = RamDisk.create(MIB, 4096);
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(disk).build())) {
      assertThat(h.device.readConfig(BlkConfigLayout.BLK_SIZE, 4)).isEqualTo(4096);
      long buf = h.alloc(8192, 4096);
      assertThat(h.read(8, buf, 4096)).isEqualTo(OK);
      assertThat(h.read(9, buf, 4096)).isEqualTo(IOERR);
      assertThat(h.read(8, buf, 512)).isEqualTo(IOERR);
      assertThat(h.stats(0).errors(BlkError.MISALIGNED)).isEqualTo(2);
    }
  }

  @Test
  void readOnlyBackendRefusesEveryWriteWithIoerrAndWritesNothing() throws IOException {
    RamDisk inner = RamDisk.create(MIB);
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(ReadOnlyDevice.of(inner)).build())) {
      long buf = h.alloc(4096, 512);
      h.fill(buf, 4096, 7);
      assertThat(h.write(0, buf, 4096)).isEqualTo(IOERR);
      long ranges = h.ranges(new long[][] {{0, 8, 0}});
      for (int type :
          new int[] {
            BlkRequestType.DISCARD, BlkRequestType.WRITE_ZEROES, BlkRequestType.SECURE_ERASE
          }) {
        assertThat(h.request(0, type, 0, new long[] {ranges}, new int[] {16}, false))
            .isEqualTo(IOERR);
      }
      assertThat(h.read(0, buf, 4096)).isEqualTo(OK);
      assertThat(h.bytes(buf, 4096)).containsOnly(0);
      assertThat(h.stats(0).errors(BlkError.READ_ONLY)).isEqualTo(4);
      assertThat(h.simple(BlkRequestType.FLUSH, 0)).isEqualTo(OK);
    }
  }

  @Test
  void flushIsExecutedAndOddFlushesAreCounted() {
    AtomicInteger flushes = new AtomicInteger();
    BlockDevice disk = counting(RamDisk.create(MIB), flushes);
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(disk).writeback(true).build())) {
      assertThat(h.simple(BlkRequestType.FLUSH, 0)).isEqualTo(OK);
      assertThat(h.simple(BlkRequestType.FLUSH_OUT, 0)).isEqualTo(OK);
      assertThat(h.simple(BlkRequestType.FLUSH, 77)).isEqualTo(OK);
      assertThat(flushes.get()).isEqualTo(3);
      assertThat(h.stats(0).oddFlushes()).isEqualTo(1);
      assertThat(h.stats(0).requests(BlkRequestType.STAT_FLUSH)).isEqualTo(3);
    }
  }

  @Test
  void flushWithoutNegotiationIsUnsupp() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).build();
    try (BlkHarness h = new BlkHarness(d, ~bit(BlkFeatures.FLUSH), false, 16 * MIB)) {
      assertThat(h.simple(BlkRequestType.FLUSH, 0)).isEqualTo(UNSUPP);
      assertThat(h.stats(0).errors(BlkError.NOT_NEGOTIATED)).isEqualTo(1);
    }
  }

  @Test
  void writethroughFlushesAfterEveryWriteAndWriteCacheToggleTakesEffect() {
    AtomicInteger flushes = new AtomicInteger();
    BlockDevice disk = counting(RamDisk.create(MIB), flushes);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).writeback(false).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(512, 512);
      assertThat(h.write(0, buf, 512)).isEqualTo(OK);
      assertThat(flushes.get()).isEqualTo(1);
      d.writeConfig(BlkConfigLayout.WRITEBACK, 1, 1);
      assertThat(d.readConfig(BlkConfigLayout.WRITEBACK, 1)).isEqualTo(1);
      assertThat(h.write(0, buf, 512)).isEqualTo(OK);
      assertThat(flushes.get()).isEqualTo(1);
      d.writeConfig(BlkConfigLayout.CAPACITY, 8, 1); // read-only field
      d.writeConfig(BlkConfigLayout.WRITEBACK, 2, 0); // wrong width
      assertThat(d.readConfig(BlkConfigLayout.WRITEBACK, 1)).isEqualTo(1);
      assertThat(d.stats().ignoredConfigWrites()).isEqualTo(2);
    }
    assertThat(d.readConfig(BlkConfigLayout.WRITEBACK, 1)).isZero(); // reset restores the default
  }

  @Test
  void withoutFlushOrWceNegotiatedWritesAreStableOnCompletion() {
    AtomicInteger flushes = new AtomicInteger();
    BlockDevice disk = counting(RamDisk.create(MIB), flushes);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).writeback(true).build();
    long mask = ~(bit(BlkFeatures.FLUSH) | bit(BlkFeatures.CONFIG_WCE));
    try (BlkHarness h = new BlkHarness(d, mask, false, 16 * MIB)) {
      long buf = h.alloc(512, 512);
      assertThat(h.write(0, buf, 512)).isEqualTo(OK);
      assertThat(flushes.get()).isEqualTo(1);
    }
  }

  @Test
  void getIdReturnsTheSerialAndNeedsTwentyBytes() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).serial("disk-42").build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(32, 8);
      h.fill(buf, 32, 1);
      assertThat(h.request(0, BlkRequestType.GET_ID, 0, new long[] {buf}, new int[] {20}, true))
          .isEqualTo(OK);
      byte[] id = h.bytes(buf, 20);
      assertThat(new String(id, 0, 7, StandardCharsets.US_ASCII)).isEqualTo("disk-42");
      for (int i = 7; i < 20; i++) {
        assertThat(id[i]).isZero();
      }
      assertThat(h.rings[0].lastUsedLen()).isEqualTo(21);
      assertThat(h.request(0, BlkRequestType.GET_ID, 0, new long[] {buf}, new int[] {19}, true))
          .isEqualTo(IOERR);
      assertThat(h.stats(0).errors(BlkError.ID_BUFFER_TOO_SMALL)).isEqualTo(1);
    }
    VirtioBlkDevice full =
        VirtioBlkDevice.builder(RamDisk.create(MIB)).serial("ABCDEFGHIJKLMNOPQRST").build();
    try (BlkHarness h = BlkHarness.of(full)) {
      long buf = h.alloc(20, 8);
      // Split over two buffers.
      assertThat(
              h.request(
                  0, BlkRequestType.GET_ID, 0, new long[] {buf, buf + 8}, new int[] {8, 12}, true))
          .isEqualTo(OK);
      assertThat(new String(h.bytes(buf, 20), StandardCharsets.US_ASCII))
          .isEqualTo("ABCDEFGHIJKLMNOPQRST");
    }
  }

  @Test
  void getLifetimeOnlyWhenOffered() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long buf = h.alloc(8, 8);
      assertThat(
              h.request(0, BlkRequestType.GET_LIFETIME, 0, new long[] {buf}, new int[] {6}, true))
          .isEqualTo(UNSUPP);
    }
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).lifetime(1, 3, 11).build();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.LIFETIME)).isNotZero();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(8, 8);
      assertThat(
              h.request(0, BlkRequestType.GET_LIFETIME, 0, new long[] {buf}, new int[] {6}, true))
          .isEqualTo(OK);
      assertThat(h.memory.u16(buf)).isEqualTo(1);
      assertThat(h.memory.u16(buf + 2)).isEqualTo(3);
      assertThat(h.memory.u16(buf + 4)).isEqualTo(11);
      assertThat(
              h.request(0, BlkRequestType.GET_LIFETIME, 0, new long[] {buf}, new int[] {4}, true))
          .isEqualTo(IOERR);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 6, 7, 9, 12, 15, 16, 18, 24, 26, 0x7fffffff, 0x80000000, 0x80000001})
  void unknownAndLegacyTypesAreUnsupp(int type) {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      assertThat(h.simple(type, 0)).isEqualTo(UNSUPP);
      assertThat(h.stats(0).errors(BlkError.UNKNOWN_TYPE)).isEqualTo(1);
      assertThat(h.stats(0).requests(BlkRequestType.STAT_OTHER)).isEqualTo(1);
    }
  }

  @Test
  void discardAndWriteZeroesAndSecureErase() throws IOException {
    RamDisk disk = RamDisk.create(4 * MIB);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk)
            .secureErase(true)
            .maxDiscardSegments(4)
            .maxWriteZeroesSegments(4)
            .maxSecureEraseSegments(2)
            .build();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.SECURE_ERASE)).isNotZero();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(MIB, 4096);
      h.fill(buf, (int) MIB, 11);
      assertThat(h.write(0, buf, (int) MIB)).isEqualTo(OK);
      long wz = h.ranges(new long[][] {{0, 128, 0}, {256, 128, BlkConfigLayout.RANGE_F_UNMAP}});
      assertThat(
              h.request(0, BlkRequestType.WRITE_ZEROES, 0, new long[] {wz}, new int[] {32}, false))
          .isEqualTo(OK);
      long disc = h.ranges(new long[][] {{512, 128, 0}});
      assertThat(h.request(0, BlkRequestType.DISCARD, 0, new long[] {disc}, new int[] {16}, false))
          .isEqualTo(OK);
      long se = h.ranges(new long[][] {{1024, 128, 0}});
      assertThat(
              h.request(0, BlkRequestType.SECURE_ERASE, 0, new long[] {se}, new int[] {16}, false))
          .isEqualTo(OK);
      long back = h.alloc(MIB, 4096);
      assertThat(h.read(0, back, (int) MIB)).isEqualTo(OK);
      byte[] got = h.bytes(back, (int) MIB);
      byte[] orig = h.bytes(buf, (int) MIB);
      for (int i = 0; i < MIB; i++) {
        boolean zeroed =
            i < 65536
                || (i >= 256 * 512 && i < 384 * 512)
                || (i >= 512 * 512 && i < 640 * 512)
                || (i >= 1024 * 512 && i < 1152 * 512);
        if (zeroed) {
          assertThat(got[i]).as("byte %d", i).isZero();
        } else if (got[i] != orig[i]) {
          throw new AssertionError("byte " + i + " changed");
        }
      }
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.requests(BlkRequestType.STAT_DISCARD)).isEqualTo(1);
      assertThat(s.requests(BlkRequestType.STAT_WRITE_ZEROES)).isEqualTo(1);
      assertThat(s.requests(BlkRequestType.STAT_SECURE_ERASE)).isEqualTo(1);
    }
  }

  @Test
  void rangeRequestsAreValidatedWholeBeforeAnyIo() {
    RamDisk disk = RamDisk.create(MIB);
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(disk)
            .maxDiscardSegments(2)
            .maxDiscardSectors(64)
            .secureErase(true)
            .build();
    long cap = MIB / 512;
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(MIB, 4096);
      h.fill(buf, (int) MIB, 2);
      assertThat(h.write(0, buf, (int) MIB)).isEqualTo(OK);
      int discard = BlkRequestType.DISCARD;
      // A good first range and a bad second one: nothing may be discarded.
      assertRange(h, discard, new long[][] {{0, 8, 0}, {cap - 4, 8, 0}}, IOERR);
      assertRange(h, discard, new long[][] {{0, 8, 0}, {-1L, 8, 0}}, IOERR);
      assertRange(h, discard, new long[][] {{0, 8, 0}, {8, 65, 0}}, IOERR); // > max sectors
      assertRange(h, discard, new long[][] {{0, 8, BlkConfigLayout.RANGE_F_UNMAP}}, UNSUPP);
      assertRange(h, discard, new long[][] {{0, 8, 2}}, UNSUPP);
      assertRange(h, BlkRequestType.WRITE_ZEROES, new long[][] {{0, 8, 4}}, UNSUPP);
      assertRange(
          h,
          BlkRequestType.SECURE_ERASE,
          new long[][] {{0, 8, BlkConfigLayout.RANGE_F_UNMAP}},
          UNSUPP);
      assertRange(h, discard, new long[][] {{0, 8, 0}, {16, 8, 0}, {32, 8, 0}}, IOERR); // > seg
      long ranges = h.ranges(new long[][] {{0, 8, 0}});
      assertThat(h.request(0, discard, 0, new long[] {ranges}, new int[] {8}, false))
          .isEqualTo(IOERR); // not a multiple of 16
      assertThat(h.request(0, discard, 0, new long[0], new int[0], false)).isEqualTo(IOERR);
      long back = h.alloc(MIB, 4096);
      assertThat(h.read(0, back, (int) MIB)).isEqualTo(OK);
      assertThat(h.bytes(back, (int) MIB)).isEqualTo(h.bytes(buf, (int) MIB));
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.errors(BlkError.OUT_OF_RANGE)).isEqualTo(2);
      assertThat(s.errors(BlkError.RANGE_TOO_LARGE)).isEqualTo(1);
      assertThat(s.errors(BlkError.RANGE_FLAGS)).isEqualTo(4);
      assertThat(s.errors(BlkError.RANGE_LIST_TOO_LONG)).isEqualTo(1);
      assertThat(s.errors(BlkError.RANGE_LIST_LENGTH)).isEqualTo(2);
    }
  }

  private static void assertRange(BlkHarness h, int type, long[][] ranges, int status) {
    long a = h.ranges(ranges);
    assertThat(h.request(0, type, 0, new long[] {a}, new int[] {16 * ranges.length}, false))
        .isEqualTo(status);
  }

  @Test
  void discardNotOfferedIsUnsupp() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).discard(false).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long ranges = h.ranges(new long[][] {{0, 8, 0}});
      assertThat(
              h.request(0, BlkRequestType.DISCARD, 0, new long[] {ranges}, new int[] {16}, false))
          .isEqualTo(UNSUPP);
    }
  }

  @Test
  void backendErrorsMapToStatuses() {
    BlockDevice failing =
        new ForwardingBlockDevice(RamDisk.create(MIB)) {
          @Override
          public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
              throws IOException {
            if (offset == 0) {
              throw new BlockDeviceException(
                  BlockDeviceException.Reason.IO_ERROR, "boom", offset, length);
            }
            if (offset == 512) {
              throw new IllegalStateException("backend bug");
            }
            if (offset == 1024) {
              throw new IOException("plain");
            }
            super.read(offset, dst, dstOffset, length);
          }

          @Override
          public void flush() throws IOException {
            throw new BlockDeviceException(
                BlockDeviceException.Reason.UNSUPPORTED, "no flush", 0, 0);
          }
        };
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(failing).build())) {
      long buf = h.alloc(512, 512);
      assertThat(h.read(0, buf, 512)).isEqualTo(IOERR);
      assertThat(h.read(1, buf, 512)).isEqualTo(IOERR);
      assertThat(h.read(2, buf, 512)).isEqualTo(IOERR);
      assertThat(h.read(3, buf, 512)).isEqualTo(OK);
      assertThat(h.simple(BlkRequestType.FLUSH, 0)).isEqualTo(UNSUPP);
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.errors(BlkError.BACKEND_IO_ERROR)).isEqualTo(2);
      assertThat(s.errors(BlkError.BACKEND_BUG)).isEqualTo(1);
      assertThat(s.errors(BlkError.BACKEND_UNSUPPORTED)).isEqualTo(1);
    }
  }

  @Test
  void chainWithoutStatusByteIsReturnedWithLenZeroAndNothingWritten() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long hdr = h.alloc(16, 8);
      h.memory.putU32(hdr, BlkRequestType.IN);
      var ring = h.rings[0];
      ring.startChain();
      ring.addReadable(hdr, 16);
      int head = ring.submitDirect(0);
      h.device.queueNotified(0);
      assertThat(ring.pollUsed()).isEqualTo(head);
      assertThat(ring.lastUsedLen()).isZero();
      assertThat(h.memory.u32(hdr)).isEqualTo(BlkRequestType.IN);
      assertThat(h.stats(0).errors(BlkError.NO_STATUS_BYTE)).isEqualTo(1);
      // Header too short, status usable: IOERR.
      long shortHdr = h.alloc(8, 8);
      long status = h.alloc(1, 1);
      h.memory.putU8(status, 0xff);
      ring.startChain();
      ring.addReadable(shortHdr, 8);
      ring.addWritable(status, 1);
      head = ring.submitDirect(0);
      h.device.queueNotified(0);
      assertThat(ring.pollUsed()).isEqualTo(head);
      assertThat(h.memory.u8(status)).isEqualTo(IOERR);
      assertThat(h.stats(0).errors(BlkError.HEADER_TOO_SHORT)).isEqualTo(1);
    }
  }

  @Test
  void aeroProfileEnforcesSegMaxAndReportsUsedLenZero() {
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(MIB)).profile(Profile.AERO).segMax(4).build();
    try (BlkHarness h = new BlkHarness(d, -1L, true, 16 * MIB)) {
      long buf = h.alloc(8192, 512);
      long[] bufs = new long[5];
      int[] lens = new int[5];
      for (int i = 0; i < 5; i++) {
        bufs[i] = buf + 512L * i;
        lens[i] = 512;
      }
      assertThat(h.request(0, BlkRequestType.IN, 0, bufs, lens, true)).isEqualTo(IOERR);
      assertThat(
              h.request(
                  0,
                  BlkRequestType.IN,
                  0,
                  java.util.Arrays.copyOf(bufs, 4),
                  java.util.Arrays.copyOf(lens, 4),
                  true))
          .isEqualTo(OK);
      assertThat(h.rings[0].lastUsedLen()).isZero();
      assertThat(h.stats(0).errors(BlkError.TOO_MANY_SEGMENTS)).isEqualTo(1);
      assertThat(h.stats(0).chainLengthHistogram()[4]).isEqualTo(2); // 7 and 6 descriptors
    }
  }

  @Test
  void sizeMaxIsEnforcedWhenAsked() {
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(MIB))
            .sizeMax(4096)
            .enforceSegmentLimits(true)
            .build();
    assertThat(d.deviceFeatures() & bit(BlkFeatures.SIZE_MAX)).isNotZero();
    assertThat(d.readConfig(BlkConfigLayout.SIZE_MAX, 4)).isEqualTo(4096);
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(8192, 512);
      assertThat(h.read(0, buf, 4096)).isEqualTo(OK);
      assertThat(h.read(0, buf, 8192)).isEqualTo(IOERR);
      assertThat(h.stats(0).errors(BlkError.SEGMENT_TOO_LARGE)).isEqualTo(1);
    }
  }

  @Test
  void defaultProfileAcceptsMoreSegmentsThanSegMax() {
    // Windows viostor ignores seg_max (spec 7.3 item 10): the DEFAULT profile must not refuse.
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queueSize(16).build();
    assertThat(d.readConfig(BlkConfigLayout.SEG_MAX, 4)).isEqualTo(14);
    try (BlkHarness h = new BlkHarness(d, -1L, true, 16 * MIB)) {
      long buf = h.alloc(64 * 512, 512);
      long[] bufs = new long[64];
      int[] lens = new int[64];
      for (int i = 0; i < 64; i++) {
        bufs[i] = buf + 512L * i;
        lens[i] = 512;
      }
      assertThat(h.request(0, BlkRequestType.IN, 0, bufs, lens, true)).isEqualTo(OK);
    }
  }

  // --- notifications ---

  @Test
  void resizeRaisesConfigChangeAndUpdatesCapacity() {
    RamDisk disk = RamDisk.create(MIB);
    VirtioBlkDevice d = VirtioBlkDevice.builder(disk).build();
    disk.resize(2 * MIB); // before any driver: capacity only
    assertThat(d.readConfig(BlkConfigLayout.CAPACITY, 8)).isEqualTo(2 * MIB / 512);
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(512, 512);
      assertThat(h.read(2 * MIB / 512, buf, 512)).isEqualTo(IOERR);
      disk.resize(4 * MIB);
      assertThat(h.notifier.configChanges()).isEqualTo(1);
      assertThat(d.readConfig(BlkConfigLayout.CAPACITY, 8)).isEqualTo(4 * MIB / 512);
      assertThat(h.read(2 * MIB / 512, buf, 512)).isEqualTo(OK);
      disk.resize(MIB);
      assertThat(h.notifier.configChanges()).isEqualTo(2);
      assertThat(h.read(MIB / 512, buf, 512)).isEqualTo(IOERR);
      assertThat(d.stats().configChanges()).isEqualTo(3);
    }
  }

  @Test
  void eventIdxSuppressesInterruptsAndKicksDeviceSide() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      var ring = h.rings[0];
      assertThat(ring.eventIdx()).isTrue();
      long buf = h.alloc(4096, 512);
      // The driver wants one interrupt after the 4th completion of a batch of 4.
      ring.setUsedEvent(3);
      int kicks = 0;
      for (int i = 0; i < 4; i++) {
        h.submit(0, BlkRequestType.IN, i, new long[] {buf + 512L * i}, new int[] {512}, true);
        if (ring.kickNeeded()) {
          kicks++;
        }
      }
      assertThat(kicks).isEqualTo(1); // avail_event 0: only the first entry asks for a kick
      d.queueNotified(0);
      assertThat(h.notifier.interrupts(0)).isEqualTo(1);
      assertThat(ring.availEvent()).isEqualTo(4);
      for (int i = 0; i < 4; i++) {
        assertThat(ring.pollUsed()).isNotNegative();
      }
      // used_event 3 is behind now: further completions stay quiet until re-armed.
      h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      assertThat(ring.kickNeeded()).isTrue();
      d.queueNotified(0);
      assertThat(h.notifier.interrupts(0)).isEqualTo(1);
      assertThat(ring.enableInterrupts()).isTrue(); // already pending: poll instead of sleeping
      assertThat(ring.pollUsed()).isNotNegative();
      assertThat(ring.enableInterrupts()).isFalse(); // re-armed at the new position
      h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      d.queueNotified(0);
      assertThat(h.notifier.interrupts(0)).isEqualTo(2);
      BlkQueueStatsSnapshot s = h.stats(0);
      assertThat(s.interruptsSent()).isEqualTo(2);
      assertThat(s.interruptsSuppressed()).isEqualTo(1);
      assertThat(s.kicks()).isEqualTo(3);
    }
  }

  @Test
  void noInterruptFlagWithoutEventIdx() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).eventIdx(false).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      var ring = h.rings[0];
      long buf = h.alloc(512, 512);
      ring.disableInterrupts();
      assertThat(h.read(0, buf, 512)).isEqualTo(OK);
      assertThat(h.notifier.interrupts(0)).isZero();
      ring.enableInterrupts();
      assertThat(h.read(0, buf, 512)).isEqualTo(OK);
      assertThat(h.notifier.interrupts(0)).isEqualTo(1);
      assertThat(ring.usedFlags()).isZero(); // notifications re-enabled after the pass
    }
  }

  @Test
  void kicksBeforeActivationArePickedUpAtActivation() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).build();
    d.queueNotified(0); // no session: ignored, counted
    assertThat(d.stats().ignoredNotifications()).isEqualTo(1);
    try (BlkHarness h = BlkHarness.of(d)) {
      // Submitted and kicked after activation here; the harness activates first, so simulate an
      // early kick by resetting and re-activating with the request already in the ring.
      long buf = h.alloc(512, 512);
      h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      d.reset();
      d.queueNotified(0);
      assertThat(h.rings[0].hasUsed()).isFalse();
      d.activate(h.features, h.memory, List.of(h.rings[0].queueSetup(0)), h.notifier);
      assertThat(h.rings[0].pollUsed()).isNotNegative();
    }
  }

  @Test
  void budgetHandsTheRestToTheContinuationExecutor() {
    List<Runnable> tasks = new ArrayList<>();
    VirtioBlkDevice d =
        VirtioBlkDevice.builder(RamDisk.create(MIB))
            .notifyBudget(3)
            .continuationExecutor(tasks::add)
            .build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(512, 512);
      for (int i = 0; i < 8; i++) {
        h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      }
      d.queueNotified(0);
      assertThat(h.stats(0).completed()).isEqualTo(3);
      assertThat(tasks).hasSize(1);
      tasks.remove(0).run();
      assertThat(h.stats(0).completed()).isEqualTo(6);
      tasks.remove(0).run();
      assertThat(h.stats(0).completed()).isEqualTo(8);
      assertThat(tasks).isEmpty();
      assertThat(h.rings[0].usedFlags()).isZero();
    }
  }

  @Test
  void badQueueSetupAsksForResetAndOtherQueuesStillWork() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).queues(2).build();
    try (BlkHarness h = BlkHarness.of(d)) {
      long buf = h.alloc(512, 512);
      assertThat(h.request(1, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true))
          .isEqualTo(OK);
      d.reset();
      var ok = h.rings[0].queueSetup(0);
      var bad =
          new dev.vdisk.virtio.QueueSetup(1, 256, 0x3, ok.driverAddr(), ok.deviceAddr(), 0, 0);
      h.rings[0].rewindIndices();
      d.activate(h.features, h.memory, List.of(ok, bad), h.notifier);
      assertThat(h.notifier.resets()).hasSize(1);
      assertThat(h.notifier.resets().get(0)).contains("descriptor table");
      assertThat(d.stats().activationFailures()).isEqualTo(1);
      d.queueNotified(1);
      assertThat(d.stats().ignoredNotifications()).isEqualTo(1);
      assertThat(h.read(0, buf, 512)).isEqualTo(OK);
    }
  }

  @Test
  void statsExposeTheAerovblkQueryInfoQuantities() {
    VirtioBlkDevice d = VirtioBlkDevice.builder(RamDisk.create(MIB)).profile(Profile.AERO).build();
    try (BlkHarness h = new BlkHarness(d, -1L, true, 16 * MIB)) {
      long buf = h.alloc(512, 512);
      for (int i = 0; i < 3; i++) {
        assertThat(h.read(0, buf, 512)).isEqualTo(OK);
      }
      h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      BlkDeviceStats s = d.stats();
      assertThat(s.negotiatedFeatures()).isEqualTo(d.deviceFeatures());
      BlkQueueStatsSnapshot q = s.queue(0);
      assertThat(q.size()).isEqualTo(128);
      assertThat(q.usedIdx()).isEqualTo(h.rings[0].usedIdx());
      assertThat(q.nextAvail()).isEqualTo(3); // the 4th was not kicked yet
      assertThat(q.inFlight()).isZero();
      assertThat(h.rings[0].outstanding()).isEqualTo(1); // QueueSize - NumFree on the driver side
      d.queueNotified(0);
      assertThat(d.stats().queue(0).nextAvail()).isEqualTo(h.rings[0].availIdx());
      assertThat(d.stats().queue(0).lastAvailIdx()).isEqualTo(4);
    }
  }

  static BlockDevice counting(BlockDevice inner, AtomicInteger flushes) {
    return new ForwardingBlockDevice(inner) {
      @Override
      public dev.vdisk.api.BlockCapabilities capabilities() {
        // Pretend to have a volatile cache so the device has a reason to flush.
        var c = inner.capabilities();
        return new dev.vdisk.api.BlockCapabilities(
            true,
            c.discard(),
            c.writeZeroes(),
            c.writeZeroesMayUnmap(),
            c.secureErase(),
            c.maxDiscardBytes(),
            c.discardGranularity());
      }

      @Override
      public void flush() throws IOException {
        flushes.incrementAndGet();
        super.flush();
      }
    };
  }

  @Test
  void headerOfSlotStatusIsPresetToUnanswered() {
    try (BlkHarness h = BlkHarness.of(VirtioBlkDevice.builder(RamDisk.create(MIB)).build())) {
      long buf = h.alloc(512, 512);
      int head = h.submit(0, BlkRequestType.IN, 0, new long[] {buf}, new int[] {512}, true);
      assertThat(h.clients[0].status(head)).isEqualTo(BlkRingClient.STATUS_UNANSWERED);
      assertThat(SplitRing.isValidSize(h.rings[0].size())).isTrue();
    }
  }
}
