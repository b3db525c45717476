package dev.vdisk.virtio.driver;

import static dev.vdisk.virtio.driver.PciVirtioBlkDriver.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.blk.BlkDeviceStats;
import dev.vdisk.virtio.blk.BlkError;
import dev.vdisk.virtio.blk.BlkQueueStatsSnapshot;
import dev.vdisk.virtio.blk.BlkRequestType;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.NotifyRegion;
import dev.vdisk.virtio.pci.PciCounter;
import dev.vdisk.virtio.pci.PciFunction;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Through the PCI driver model (registers only), the parts of issue 3 that need a whole stack:
 * every combination of the ring and blk features a driver can end up with, the per-queue statistics
 * compared with what the driver itself did at the register interface, and a 32768-entry queue (the
 * split ring's maximum) run past the 16-bit index wrap.
 */
class PciFeatureCombinationsTest {
  static final long RAM = 0x100000;
  static final long RAM_SIZE = 40 << 20;
  static final long DISK = 8 << 20;

  /**
   * The guest's side of the register interface, counting what the guest itself did: doorbell writes
   * per queue. The device's statistics must agree with it.
   */
  static final class CountingFunction implements PciFunction {
    final VirtioPciDevice pci;
    final long[] doorbells;

    CountingFunction(VirtioPciDevice pci, int queues) {
      this.pci = pci;
      this.doorbells = new long[queues];
    }

    @Override
    public long configRead(int offset, int size) {
      return pci.configRead(offset, size);
    }

    @Override
    public void configWrite(int offset, int size, long value) {
      pci.configWrite(offset, size, value);
    }

    @Override
    public long barRead(int bar, long offset, int size) {
      return pci.barRead(bar, offset, size);
    }

    @Override
    public void barWrite(int bar, long offset, int size, long value) {
      NotifyRegion n = pci.notifyRegion();
      for (int q = 0; q < doorbells.length; q++) {
        if (bar == n.bar() && offset == n.queueOffset(q)) {
          doorbells[q]++;
        }
      }
      pci.barWrite(bar, offset, size, value);
    }
  }

  static final class Stack implements AutoCloseable {
    final GuestMemory memory = GuestMemory.allocate(RAM, RAM_SIZE);
    final InterruptLatch latch = new InterruptLatch();
    final RamDisk disk = RamDisk.create(DISK);
    final VirtioBlkDevice blk;
    final VirtioPciDevice pci;
    final CountingFunction function;
    final PciVirtioBlkDriver driver;

    Stack(
        UnaryOperator<VirtioBlkDevice.Builder> device,
        UnaryOperator<PciVirtioBlkDriver.Builder> driverOptions) {
      this.blk = device.apply(VirtioBlkDevice.builder(disk)).build();
      this.pci =
          VirtioPciDevice.builder(blk)
              .profile(PciProfile.DEFAULT)
              .barWidth(BarWidth.BITS_64)
              .interruptSink(latch)
              .guestMemory(memory)
              .build();
      this.function = new CountingFunction(pci, blk.queueCount());
      this.driver =
          driverOptions
              .apply(
                  PciVirtioBlkDriver.builder(function, memory, latch)
                      .behaviour(DriverBehaviour.LINUX)
                      .dmaArea(RAM + (16 << 20), 24 << 20)
                      .timeout(20, TimeUnit.SECONDS))
              .build();
    }

    @Override
    public void close() {
      memory.close();
    }
  }

  /** Ring features (EVENT_IDX, INDIRECT), cache (CONFIG_WCE), MQ, MSI-X or INTx. */
  static Stream<Arguments> combinations() {
    List<Arguments> all = new ArrayList<>();
    for (boolean eventIdx : new boolean[] {true, false}) {
      for (boolean indirect : new boolean[] {true, false}) {
        for (boolean wce : new boolean[] {true, false}) {
          for (int queues : new int[] {1, 3}) {
            for (boolean msix : new boolean[] {true, false}) {
              all.add(Arguments.of(eventIdx, indirect, wce, queues, msix));
            }
          }
        }
      }
    }
    return all.stream();
  }

  @ParameterizedTest(name = "EVENT_IDX {0}, INDIRECT {1}, CONFIG_WCE {2}, {3} queues, MSI-X {4}")
  @MethodSource("combinations")
  void everyRequestTypeUnderEveryFeatureCombination(
      boolean eventIdx, boolean indirect, boolean wce, int queues, boolean msix) {
    try (Stack s =
        new Stack(
            b ->
                b.eventIdx(eventIdx)
                    .indirectDescriptors(indirect)
                    .configWce(wce)
                    .queues(queues)
                    .discard(true)
                    .writeZeroes(true)
                    .secureErase(true)
                    .serial("combo"),
            d -> d.queues(queues).msix(msix))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      long neg = d.negotiatedFeatures();
      assertThat(VirtioFeatures.has(neg, VirtioFeatures.RING_EVENT_IDX)).isEqualTo(eventIdx);
      assertThat(VirtioFeatures.has(neg, VirtioFeatures.RING_INDIRECT_DESC)).isEqualTo(indirect);
      assertThat(VirtioFeatures.has(neg, F_CONFIG_WCE)).isEqualTo(wce);
      assertThat(VirtioFeatures.has(neg, F_MQ)).isEqualTo(queues > 1);
      assertThat(d.usesMsix()).isEqualTo(msix);
      assertThat(d.queueCount()).isEqualTo(queues);
      if (wce) {
        // writethrough, as a Linux "write through" cache_type write does
        d.writeDeviceConfig(0x20, 1, 0);
        assertThat(d.deviceConfig(0x20, 1)).isZero();
      }
      Random random = new Random(Arrays.hashCode(new Object[] {eventIdx, indirect, wce, queues}));
      for (int q = 0; q < queues; q++) {
        byte[] data = new byte[3 * 4096 + 1024]; // four page segments
        random.nextBytes(data);
        long sector = 64L * q + 8;
        assertThat(d.write(q, sector, data)).isZero();
        byte[] back = new byte[data.length];
        assertThat(d.read((q + 1) % queues, sector, back)).isZero();
        assertThat(back).isEqualTo(data);
        assertThat(d.flush(q)).isZero();
        byte[] id = new byte[20];
        assertThat(d.getId(q, id)).isZero();
        assertThat(new String(id, 0, 5, java.nio.charset.StandardCharsets.US_ASCII))
            .isEqualTo("combo");
        assertThat(d.rangeCommand(q, T_WRITE_ZEROES, sector, 8, 1)).isZero();
        assertThat(d.read(q, sector, back)).isZero();
        assertThat(Arrays.copyOf(back, 4096)).containsOnly(0);
        assertThat(d.rangeCommand(q, T_DISCARD, sector + 8, 8, 0)).isZero();
        assertThat(d.rangeCommand(q, T_SECURE_ERASE, sector + 16, 8, 0)).isZero();
        // GET_LIFETIME not offered, unknown type: UNSUPP; past the end: IOERR
        assertThat(d.execute(q, T_GET_LIFETIME, 0, null, new byte[6])).isEqualTo(2);
        assertThat(d.execute(q, 0x55, 0, null, null)).isEqualTo(2);
        assertThat(d.read(q, DISK / 512, new byte[512])).isEqualTo(1);
      }
      BlkDeviceStats st = s.blk.stats();
      for (int q = 0; q < queues; q++) {
        BlkQueueStatsSnapshot qs = st.queue(q);
        assertThat(qs.requests(BlkRequestType.STAT_OUT)).isEqualTo(1);
        assertThat(qs.requests(BlkRequestType.STAT_WRITE_ZEROES)).isEqualTo(1);
        assertThat(qs.requests(BlkRequestType.STAT_SECURE_ERASE)).isEqualTo(1);
        assertThat(qs.inFlight()).isZero();
      }
      assertThat(s.pci.stats().guestErrors()).isZero();
      assertThat(st.internalErrors()).isZero();
    }
  }

  /**
   * The statistics the issue lists (requests by type, bytes in/out, errors by reason, kicks,
   * interrupts sent and suppressed, in-flight count, last avail/used index), per queue, against
   * what the driver did and saw: its own doorbell writes at the register interface, the MSI-X
   * messages the VMM's interrupt sink received, its own byte and status tallies and ring indices.
   */
  @ParameterizedTest(name = "EVENT_IDX {0}")
  @MethodSource("eventIdxBoth")
  void deviceStatisticsAgreeWithTheDriversView(boolean eventIdx) {
    int queues = 2;
    try (Stack s = new Stack(b -> b.queues(queues).eventIdx(eventIdx), d -> d.queues(queues))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      long[] bytesOut = new long[queues];
      long[] bytesIn = new long[queues];
      long[] ioerr = new long[queues];
      long[] unsupp = new long[queues];
      Random random = new Random(7);
      for (int q = 0; q < queues; q++) {
        for (int i = 0; i < 5 + q; i++) {
          byte[] data = new byte[512 * (1 + random.nextInt(16))];
          random.nextBytes(data);
          assertThat(d.write(q, 32L * i, data)).isZero();
          bytesOut[q] += data.length;
          assertThat(d.read(q, 32L * i, data)).isZero();
          bytesIn[q] += data.length;
        }
        byte[] id = new byte[20];
        assertThat(d.getId(q, id)).isZero();
        bytesIn[q] += 20;
        for (int i = 0; i <= q; i++) {
          assertThat(d.read(q, DISK / 512 - 1, new byte[1024])).isEqualTo(1);
          ioerr[q]++;
        }
        assertThat(d.execute(q, 0x99, 0, null, null)).isEqualTo(2);
        unsupp[q]++;
      }
      // Sixteen requests on queue 0, each kicked on its own, with an interrupt wanted only for the
      // last: used_event with EVENT_IDX (Linux's virtqueue_enable_cb_delayed idea), NO_INTERRUPT
      // without it. The device must suppress fifteen decisions and send one interrupt.
      SplitRingDriver ring0 = d.ring(0);
      long buf = d.bounceBuffer(0);
      int n = 16;
      int[] heads = new int[n];
      long sentBefore = s.blk.stats().queue(0).interruptsSent();
      long suppressedBefore = s.blk.stats().queue(0).interruptsSuppressed();
      if (eventIdx) {
        ring0.setUsedEvent((ring0.lastUsedIdx() + n - 1) & 0xFFFF);
      } else {
        ring0.disableInterrupts();
      }
      for (int i = 0; i < n; i++) {
        if (!eventIdx && i == n - 1) {
          ring0.enableInterrupts();
        }
        heads[i] = d.submit(0, T_IN, i, buf + 512L * i, 512, true);
        bytesIn[0] += 512;
        assertThat(d.kick(0)).as("the device wants every kick while it is idle").isTrue();
      }
      for (int h : heads) {
        assertThat(d.await(0, h)).isZero();
      }
      assertThat(s.blk.stats().queue(0).interruptsSent() - sentBefore).isEqualTo(1);
      assertThat(s.blk.stats().queue(0).interruptsSuppressed() - suppressedBefore).isEqualTo(n - 1);

      BlkDeviceStats st = s.blk.stats();
      long queueInterrupts = 0;
      long deviceKicks = 0;
      for (int q = 0; q < queues; q++) {
        BlkQueueStatsSnapshot qs = st.queue(q);
        SplitRingDriver ring = d.ring(q);
        // The transport also rings each live queue once at DRIVER_OK (buffers made available
        // before it are legal to pick up then); the device counts that as a kick too.
        assertThat(qs.kicks() - s.function.doorbells[q])
            .as("kicks q%d beyond the driver's doorbell writes", q)
            .isBetween(0L, s.pci.counter(PciCounter.ACTIVATIONS));
        deviceKicks += qs.kicks();
        assertThat(qs.bytesOut()).as("bytes out q%d", q).isEqualTo(bytesOut[q]);
        assertThat(qs.bytesIn()).as("bytes in q%d", q).isEqualTo(bytesIn[q]);
        assertThat(qs.errors(BlkError.OUT_OF_RANGE)).isEqualTo(ioerr[q]);
        assertThat(qs.errors(BlkError.UNKNOWN_TYPE)).isEqualTo(unsupp[q]);
        assertThat(qs.totalErrors()).isEqualTo(ioerr[q] + unsupp[q]);
        assertThat(qs.requests(BlkRequestType.STAT_GET_ID)).isEqualTo(1);
        assertThat(qs.completed()).isEqualTo(ring.usedIdx());
        assertThat(qs.usedIdx()).isEqualTo(ring.usedIdx()).isEqualTo(ring.lastUsedIdx());
        assertThat(qs.lastAvailIdx()).isEqualTo(ring.availIdx()).isEqualTo(qs.nextAvail());
        assertThat(qs.inFlight()).isEqualTo(ring.outstanding()).isZero();
        assertThat(qs.size()).isEqualTo(ring.size());
        queueInterrupts += qs.interruptsSent();
        // every used-ring publication is one notification decision, sent or suppressed
        assertThat(qs.interruptsSent() + qs.interruptsSuppressed()).isPositive();
      }
      assertThat(queueInterrupts)
          .as("interrupts the VMM's sink received")
          .isEqualTo(s.latch.messages())
          .isEqualTo(s.pci.counter(PciCounter.MSI_SENT));
      assertThat(s.pci.counter(PciCounter.NOTIFY_DELIVERED)).isEqualTo(deviceKicks);
    }
  }

  static Stream<Boolean> eventIdxBoth() {
    return Stream.of(true, false);
  }

  /**
   * The largest split ring (32768 entries) negotiated through queue_size, filled to the brim by
   * direct chains and driven across the 16-bit index wrap.
   */
  @Test
  void queueOf32768EntriesRunsPastTheIndexWrap() {
    try (Stack s = new Stack(b -> b.queueSize(32768), d -> d.maxTransfer(4096))) {
      PciVirtioBlkDriver d = s.driver.initialize();
      SplitRingDriver ring = d.ring(0);
      assertThat(ring.size()).isEqualTo(32768);
      assertThat(s.blk.stats().queue(0).size()).isEqualTo(32768);
      long buf = d.bounceBuffer(0);
      long total = 0;
      int batchPeak = 0;
      List<Integer> heads = new ArrayList<>();
      while (total < 70_000) {
        heads.clear();
        int h;
        while ((h = d.submit(0, T_IN, heads.size() & 1023, buf, 512, true)) >= 0) {
          heads.add(h);
        }
        batchPeak = Math.max(batchPeak, heads.size());
        d.kick(0);
        for (int head : heads) {
          assertThat(d.await(0, head)).isZero();
        }
        total += heads.size();
      }
      // header + data + status: a full ring holds floor(32768 / 3) requests
      assertThat(batchPeak).isEqualTo(32768 / 3);
      BlkQueueStatsSnapshot q = s.blk.stats().queue(0);
      assertThat(q.completed()).isEqualTo(total);
      assertThat(q.usedIdx()).isEqualTo((int) (total & 0xFFFF)).isEqualTo(ring.usedIdx());
      assertThat(q.inFlight()).isZero();
      assertThat(s.pci.stats().guestErrors()).isZero();
    }
  }
}
