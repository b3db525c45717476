package dev.vdisk.virtio.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.queue.QueueError;
import dev.vdisk.virtio.queue.SplitRing;
import dev.vdisk.virtio.testing.RecordingNotifier;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Hostile drivers: random descriptor tables, avail rings, indirect tables and headers. Whatever the
 * guest writes, the device never throws into the caller, never hangs, never touches host memory
 * outside the guest regions (guard zones around and between the regions stay intact), never writes
 * the descriptor table or the available ring, never publishes more used entries than were made
 * available, and never returns a head outside the queue.
 *
 * <p>Host layout: guard | region A (guest 0x10000) | guard | region B (guest 0x30000) | guard, all
 * in one native allocation, so a stray access just past a region lands in a guard.
 */
class HostileRingPropertiesTest {
  private static final int ZONE = 0x10000;
  private static final long A = 0x10000;
  private static final long B = 0x30000;
  private static final byte GUARD = (byte) 0xA5;
  private static final long BUFFERS_A = A + 0x1000; // ring lives below this
  private static final Duration LIMIT = Duration.ofSeconds(20);

  /** One descriptor as a hostile driver might write it. */
  record Desc(long addr, long len, int flags, int next) {}

  @Provide
  Arbitrary<Desc> descriptors() {
    Arbitrary<Long> addr =
        Arbitraries.<Long>frequencyOf(
            w(6, Arbitraries.longs().between(BUFFERS_A, A + ZONE - 1)),
            w(6, Arbitraries.longs().between(B, B + ZONE - 1)),
            w(2, Arbitraries.longs().between(A + ZONE - 64, A + ZONE + 64)), // end of A
            w(2, Arbitraries.longs().between(B - 64, B + 64)), // start of B
            w(1, Arbitraries.longs().between(B + ZONE - 64, B + ZONE + 64)), // end of B
            w(1, Arbitraries.longs()), // anywhere, including near 2^64
            w(1, Arbitraries.of(0L, -1L, -16L, Long.MIN_VALUE, 0x20000L)));
    Arbitrary<Long> len =
        Arbitraries.<Long>frequencyOf(
            w(4, Arbitraries.of(1L, 16L, 512L, 1024L, 4096L, 32L, 48L)),
            w(3, Arbitraries.longs().between(0, 9000)),
            w(1, Arbitraries.of(0L, 0xFFFF_FFFFL, 0x8000_0000L, 0xFFFF_FFF0L, 0x10000L)),
            w(1, Arbitraries.longs().between(0, 0xFFFF_FFFFL)));
    Arbitrary<Integer> flags =
        Arbitraries.<Integer>frequencyOf(
            wi(8, Arbitraries.integers().between(0, 7)),
            wi(1, Arbitraries.integers().between(0, 0xFFFF)));
    Arbitrary<Integer> next = Arbitraries.integers().between(0, 20);
    return Combinators.combine(addr, len, flags, next).as(Desc::new);
  }

  private static Tuple.Tuple2<Integer, Arbitrary<? extends Long>> w(int weight, Arbitrary<Long> a) {
    return Tuple.of(weight, a);
  }

  private static Tuple.Tuple2<Integer, Arbitrary<? extends Integer>> wi(
      int weight, Arbitrary<Integer> a) {
    return Tuple.of(weight, a);
  }

  @Property(tries = 300, edgeCases = EdgeCasesMode.MIXIN)
  void hostileRingsAreContained(
      @ForAll @Size(16) List<@From("descriptors") Desc> table,
      @ForAll @Size(max = 24) List<@IntRange(min = 0, max = 17) Integer> heads,
      @ForAll @IntRange(min = 0, max = 18) int availDelta,
      @ForAll @IntRange(min = 0, max = 0xFFFF) int startIdx,
      @ForAll boolean eventIdx,
      @ForAll boolean indirect,
      @ForAll long contentSeed,
      @ForAll @IntRange(min = 0, max = 0xFFFF) int usedEvent,
      @ForAll boolean template,
      @ForAll @Size(max = 4) List<@IntRange(min = 0, max = 15) Integer> mutated) {
    int size = 16;
    BytesStore<?, ?> host = BytesStore.nativeStoreWithFixedCapacity(5L * ZONE);
    try {
      long base = host.addressForRead(0);
      for (long i = 0; i < 5L * ZONE; i++) {
        host.writeByte(i, GUARD);
      }
      MemoryRegion ra = MemoryRegion.wrap(A, base + ZONE, ZONE, true, null);
      MemoryRegion rb = MemoryRegion.wrap(B, base + 3L * ZONE, ZONE, true, null);
      try (GuestMemory mem = GuestMemory.of(ra, rb)) {
        // Random contents everywhere buffers may point (headers, indirect tables, range lists),
        // with some well-formed headers sprinkled in.
        Random r = new Random(contentSeed);
        byte[] junk = new byte[ZONE];
        r.nextBytes(junk);
        mem.write(A, junk, 0, ZONE);
        r.nextBytes(junk);
        mem.write(B, junk, 0, ZONE);
        for (Desc d : table) {
          if (r.nextInt(3) == 0 && mem.regionIndex(d.addr(), 16) >= 0 && d.addr() >= BUFFERS_A) {
            mem.putU32(d.addr(), r.nextInt(16));
            mem.putU32(d.addr() + 4, 0);
            mem.putU64(d.addr() + 8, r.nextInt(4096));
          }
        }
        long desc = A;
        long avail = A + 0x100;
        long used = A + 0x200;
        mem.fill(A, 0x1000, (byte) 0);
        for (int i = 0; i < size; i++) {
          // Either the hostile table as generated, or five well-formed requests (header, data,
          // status at heads 0, 3, 6, 9, 12) with a few descriptors replaced by hostile ones.
          Desc d = template && !mutated.contains(i) ? wellFormed(i, r) : table.get(i);
          long e = desc + 16L * i;
          mem.putU64(e, d.addr());
          mem.putU32(e + 8, d.len());
          mem.putU16(e + 12, d.flags());
          mem.putU16(e + 14, d.next());
        }
        if (template) {
          for (int k = 0; k < 5; k++) {
            long hdr = B + 0x100L * k;
            mem.putU32(hdr, r.nextInt(3) == 0 ? BlkRequestType.OUT : BlkRequestType.IN);
            mem.putU32(hdr + 4, 0);
            mem.putU64(hdr + 8, r.nextInt(4096));
          }
        }
        int published = Math.min(availDelta, 0xFFFF);
        for (int i = 0; i < size; i++) {
          int head = template ? (3 * i) % 15 : i < heads.size() ? heads.get(i) : i;
          if (template && i < heads.size() && heads.get(i) > 15) {
            head = heads.get(i); // an occasional head out of range
          }
          mem.putU16(avail + 4 + 2L * ((startIdx + i) & (size - 1)), head);
        }
        mem.putU16(avail + 2, (startIdx + published) & 0xffff);
        mem.putU16(avail + SplitRing.usedEventOffset(size), usedEvent);
        mem.putU16(used + 2, startIdx);

        long features =
            VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                | (eventIdx ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (indirect ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0)
                | VirtioFeatures.bit(BlkFeatures.FLUSH)
                | VirtioFeatures.bit(BlkFeatures.DISCARD)
                | VirtioFeatures.bit(BlkFeatures.WRITE_ZEROES);
        VirtioBlkDevice device =
            VirtioBlkDevice.builder(RamDisk.create(2 << 20))
                .queueSize(size)
                .maxDiscardSegments(4)
                .maxChainDescriptors(64)
                .build();
        RecordingNotifier notifier = new RecordingNotifier();
        byte[] ringBefore = new byte[0x200];
        mem.read(A, ringBefore, 0, 0x200);

        assertTimeoutPreemptively(
            LIMIT,
            () -> {
              device.activate(
                  features,
                  mem,
                  List.of(new QueueSetup(0, size, desc, avail, used, startIdx, startIdx)),
                  notifier);
              for (int k = 0; k < 3; k++) {
                device.queueNotified(0);
              }
            });

        // The device never writes the descriptor table or the available ring.
        byte[] ringAfter = new byte[0x200];
        mem.read(A, ringAfter, 0, 0x200);
        assertThat(ringAfter).isEqualTo(ringBefore);
        // Used entries: never more than were made available, every id inside the queue.
        int usedIdx = mem.u16(used + 2);
        int produced = (usedIdx - startIdx) & 0xffff;
        assertThat(produced).isLessThanOrEqualTo(Math.min(published, size));
        for (int i = 0; i < produced; i++) {
          long id = mem.u32(used + 4 + 8L * ((startIdx + i) & (size - 1)));
          assertThat(id).isLessThan(size);
        }
        BlkDeviceStats stats = device.stats();
        assertThat(stats.internalErrors()).isZero();
        BlkQueueStatsSnapshot q = stats.queue(0);
        assertThat(q.queueErrors(QueueError.AVAIL_IDX_OVERRUN) > 0).isEqualTo(published > size);
        assertThat(q.usedIdx()).isEqualTo(usedIdx);
        long ok = q.completed() - q.totalErrors();
        Statistics.label("outcome")
            .collect(
                q.broken()
                    ? "ring fault"
                    : ok > 0
                        ? "some requests OK"
                        : q.errors(BlkError.CHAIN_MALFORMED) > 0
                            ? "bad chains returned"
                            : q.totalErrors() > 0 ? "only IOERR/UNSUPP" : "nothing available");
        Statistics.label("completed").collect(Math.min(produced, 4));
        assertTimeoutPreemptively(LIMIT, device::reset);
        assertThat(notifier.resets().isEmpty()).isEqualTo(!q.broken());
      }
      // Guard zones untouched: nothing outside the regions was written.
      assertGuard(host, 0);
      assertGuard(host, 2L * ZONE);
      assertGuard(host, 4L * ZONE);
    } finally {
      host.releaseLast();
    }
  }

  /** Descriptor {@code i} of five header/data/status chains at heads 0, 3, 6, 9, 12. */
  private static Desc wellFormed(int i, Random r) {
    int k = i / 3;
    if (k >= 5) {
      return new Desc(B + 0x8000, 512, 0, 0);
    }
    switch (i % 3) {
      case 0:
        return new Desc(B + 0x100L * k, 16, SplitRing.DESC_F_NEXT, i + 1);
      case 1:
        // Data: device-writable for IN; the header type decides, so mismatches happen too.
        int flags = SplitRing.DESC_F_NEXT | (r.nextBoolean() ? SplitRing.DESC_F_WRITE : 0);
        return new Desc(A + 0x2000L + 0x1000L * k, 512L * (1 + r.nextInt(8)), flags, i + 1);
      default:
        return new Desc(B + 0x100L * k + 0x80, 1, SplitRing.DESC_F_WRITE, 0);
    }
  }

  private static void assertGuard(BytesStore<?, ?> host, long from) {
    for (long i = from; i < from + ZONE; i++) {
      if (host.readByte(i) != GUARD) {
        throw new AssertionError("host byte " + i + " outside guest memory was written");
      }
    }
  }

  /**
   * Well-formed requests with random framing: reads return exactly the backend's bytes, writes land
   * exactly where asked, whatever the segmentation (direct or indirect, header split, odd
   * addresses).
   */
  @Property(tries = 150, edgeCases = EdgeCasesMode.MIXIN)
  void randomlyFramedRequestsMoveExactlyTheRightBytes(
      @ForAll @IntRange(min = 1, max = 16) int sectors,
      @ForAll @IntRange(min = 0, max = 2000) int sector,
      @ForAll @Size(min = 1, max = 12) List<@IntRange(min = 1, max = 1500) Integer> cuts,
      @ForAll boolean indirect,
      @ForAll boolean write,
      @ForAll boolean splitHeader,
      @ForAll long seed)
      throws Exception {
    RamDisk disk = RamDisk.create(2 << 20);
    Random r = new Random(seed);
    BytesStore<?, ?> pattern = BytesStore.nativeStoreWithFixedCapacity(2 << 20);
    try {
      for (long i = 0; i < (2 << 20); i += 8) {
        pattern.writeLong(i, r.nextLong());
      }
      disk.write(0, pattern, 0, 2 << 20);
      VirtioBlkDevice d = VirtioBlkDevice.builder(disk).queueSize(64).build();
      try (BlkHarness h = new BlkHarness(d, -1L, indirect, 8 << 20)) {
        int bytes = sectors * 512;
        long data = h.alloc(bytes + 64, 1) + r.nextInt(8); // odd addresses are legal
        byte[] payload = new byte[bytes];
        r.nextBytes(payload);
        if (write) {
          h.memory.write(data, payload, 0, bytes);
        }
        long hdr = h.alloc(16, 8);
        h.memory.putU32(hdr, write ? BlkRequestType.OUT : BlkRequestType.IN);
        h.memory.putU32(hdr + 4, 0);
        h.memory.putU64(hdr + 8, sector);
        long status = h.alloc(1, 1);
        h.memory.putU8(status, 0xFF);
        var ring = h.rings[0];
        ring.startChain();
        if (splitHeader) {
          int c = 1 + r.nextInt(15);
          ring.addReadable(hdr, c);
          ring.addReadable(hdr + c, 16 - c);
        } else {
          ring.addReadable(hdr, 16);
        }
        int off = 0;
        for (int cut : cuts) {
          if (off >= bytes) {
            break;
          }
          int n = Math.min(cut, bytes - off);
          if (write) {
            ring.addReadable(data + off, n);
          } else {
            ring.addWritable(data + off, n);
          }
          off += n;
        }
        if (off < bytes) {
          if (write) {
            ring.addReadable(data + off, bytes - off);
          } else {
            ring.addWritable(data + off, bytes - off);
          }
        }
        ring.addWritable(status, 1);
        int head = indirect ? ring.submitIndirect(0) : ring.submitDirect(0);
        assertThat(head).isNotNegative();
        d.queueNotified(0);
        assertThat(ring.pollUsed()).isEqualTo(head);
        long cap = (2 << 20) / 512;
        int expected = sector + sectors <= cap ? BlkStatus.OK : BlkStatus.IOERR;
        assertThat(h.memory.u8(status)).isEqualTo(expected);
        if (expected != BlkStatus.OK) {
          return;
        }
        BytesStore<?, ?> check = BytesStore.nativeStoreWithFixedCapacity(bytes);
        try {
          disk.read(sector * 512L, check, 0, bytes);
          byte[] onDisk = new byte[bytes];
          check.read(0, onDisk, 0, bytes);
          byte[] inGuest = h.bytes(data, bytes);
          assertThat(Arrays.equals(onDisk, inGuest)).isTrue();
          if (write) {
            assertThat(Arrays.equals(onDisk, payload)).isTrue();
          }
        } finally {
          check.releaseLast();
        }
        assertThat(ring.lastUsedLen()).isEqualTo(write ? 1 : bytes + 1);
      }
    } finally {
      pattern.releaseLast();
    }
  }
}
