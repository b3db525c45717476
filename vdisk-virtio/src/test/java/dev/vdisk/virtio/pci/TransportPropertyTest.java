package dev.vdisk.virtio.pci;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;

/**
 * Random (and hostile) sequences of config and BAR accesses of any width and offset, doorbells and
 * device events: the transport never throws, never hands the device a ring outside guest RAM, and
 * only forwards kicks for queues the device was given.
 */
class TransportPropertyTest {

  sealed interface Op permits ConfigOp, BarOp, Kick, DeviceEvent, GoodInit {}

  record ConfigOp(boolean write, int offset, int size, long value) implements Op {}

  record BarOp(boolean write, int bar, long offset, int size, long value) implements Op {}

  record Kick(int queue) implements Op {}

  record DeviceEvent(int kind, int queue) implements Op {}

  /** A correct bring-up, so random traffic also hits a live device. */
  record GoodInit(int queueSize, boolean msix) implements Op {}

  @Provide
  Arbitrary<PciProfile> profiles() {
    return Arbitraries.of(PciProfile.class);
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Integer> sizes = Arbitraries.of(1, 2, 4, 8, 1, 2, 4, 8, 0, 3, 5, 16, -1);
    Arbitrary<Long> values =
        Arbitraries.oneOf(
            Arbitraries.longs(),
            Arbitraries.of(
                0L,
                1L,
                2L,
                3L,
                4L,
                7L,
                8L,
                0xBL,
                0xFL,
                0xFFL,
                0xFFFFL,
                0xFFFF_FFFFL,
                -1L,
                16L,
                256L),
            Arbitraries.longs().between(Bench.RAM_BASE - 64, Bench.RAM_BASE + Bench.RAM_SIZE + 64));
    Arbitrary<Integer> configOffsets =
        Arbitraries.oneOf(
            Arbitraries.integers().between(0, 0x103),
            Arbitraries.of(
                0x04, 0x10, 0x14, 0x20, 0x24, 0x84 + 4, 0x84 + 8, 0x84 + 12, 0x84 + 16, 0x98 + 2),
            Arbitraries.integers());
    Arbitrary<Long> barOffsets =
        Arbitraries.oneOf(
            Arbitraries.longs().between(0, 0x80),
            Arbitraries.longs().between(0, 0x8100),
            Arbitraries.of(
                0x1000L, 0x1004L, 0x2000L, 0x3000L, 0x3004L, 0x3100L, 0x3120L, 0x4000L, 0x4800L),
            Arbitraries.longs());
    Arbitrary<Op> config =
        Combinators.combine(Arbitraries.of(true, false), configOffsets, sizes, values)
            .as(ConfigOp::new);
    Arbitrary<Op> bar =
        Combinators.combine(
                Arbitraries.of(true, false),
                Arbitraries.frequencyOf(
                    net.jqwik.api.Tuple.of(8, Arbitraries.just(-2)),
                    net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(-1, 7))),
                barOffsets,
                sizes,
                values)
            .as(BarOp::new);
    Arbitrary<Op> kick = Arbitraries.integers().between(-1, 3).map(Kick::new);
    Arbitrary<Op> event =
        Combinators.combine(
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(-1, 2))
            .as(DeviceEvent::new);
    Arbitrary<Op> init =
        Combinators.combine(Arbitraries.of(1, 2, 16, 64, 128, 3, 0), Arbitraries.of(true, false))
            .as(GoodInit::new);
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(5, config),
            net.jqwik.api.Tuple.of(10, bar),
            net.jqwik.api.Tuple.of(2, kick),
            net.jqwik.api.Tuple.of(1, event),
            net.jqwik.api.Tuple.of(1, init))
        .list()
        .ofMaxSize(120);
  }

  @Property(tries = 400)
  @net.jqwik.api.statistics.StatisticsReport(onFailureOnly = true)
  void transportSurvivesAnything(
      @ForAll("profiles") PciProfile profile,
      @ForAll boolean bits64,
      @ForAll("ops") @Size(max = 120) List<Op> ops) {
    FakeVirtioDevice device = FakeVirtioDevice.standard();
    try (Bench b = new Bench(device, profile, bits64 ? BarWidth.BITS_64 : BarWidth.BITS_32)) {
      for (Op op : ops) {
        apply(b, op);
        // invariants after every step
        for (List<QueueSetup> setups : device.activations) {
          for (QueueSetup s : setups) {
            assertRingInRam(b, s);
          }
        }
        assertThat(b.count(PciCounter.DEVICE_EXCEPTION)).isZero();
      }
      for (int kicked : device.kicks) {
        assertThat(kicked).isBetween(0, device.queues - 1);
      }
      Statistics.label("live").collect(!device.activations.isEmpty());
      Statistics.label("live").coverage(c -> c.check(true).percentage(p -> p > 10.0));
      PciTransportStats stats = b.pci.stats();
      assertThat(stats.deviceStatus() & 0x30).as("no unsupported status bits").isZero();
      assertThat(stats.negotiatedFeatures() & ~stats.offeredFeatures()).isZero();
      assertThat(b.pci.configRead(PciHeader.VENDOR_ID, 4)).isEqualTo(0x1042_1AF4L);
      assertThat(b.pci.configRead(PciHeader.REVISION_ID, 1)).isEqualTo(1);
    }
  }

  private static void assertRingInRam(Bench b, QueueSetup s) {
    int n = s.size();
    assertThat(Integer.bitCount(n)).isEqualTo(1);
    assertThat(b.memory.regionIndex(s.descAddr(), 16L * n)).isGreaterThanOrEqualTo(0);
    assertThat(b.memory.regionIndex(s.driverAddr(), 4 + 2L * n)).isGreaterThanOrEqualTo(0);
    assertThat(b.memory.regionIndex(s.deviceAddr(), 4 + 8L * n)).isGreaterThanOrEqualTo(0);
    assertThat(s.descAddr() % 16).isZero();
  }

  private static void apply(Bench b, Op op) {
    if (op instanceof ConfigOp c) {
      if (c.write()) {
        b.pci.configWrite(c.offset(), c.size(), c.value());
      } else {
        b.pci.configRead(c.offset(), c.size());
      }
    } else if (op instanceof BarOp o) {
      int bar = o.bar() == -2 ? b.bar : o.bar();
      if (o.write()) {
        b.pci.barWrite(bar, o.offset(), o.size(), o.value());
      } else {
        b.pci.barRead(bar, o.offset(), o.size());
      }
    } else if (op instanceof Kick k) {
      b.pci.notifyQueue(k.queue());
    } else if (op instanceof DeviceEvent e) {
      var notifier = b.device.notifier;
      if (notifier != null) {
        switch (e.kind()) {
          case 0 -> notifier.usedBuffers(e.queue());
          case 1 -> notifier.configChanged();
          default -> notifier.needsReset("property test");
        }
      }
    } else if (op instanceof GoodInit g) {
      b.pci.configWrite(
          PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
      if (g.msix()) {
        b.pci.configWrite(0x98 + 2, 2, VirtioPciCap.MSIX_ENABLE);
      }
      b.negotiate(
          b.pci.stats().offeredFeatures() & ~VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX));
      for (int q = 0; q < b.device.queues; q++) {
        b.setupQueue(q, g.queueSize());
      }
      b.status(
          CommonCfg.STATUS_ACKNOWLEDGE
              | CommonCfg.STATUS_DRIVER
              | CommonCfg.STATUS_FEATURES_OK
              | CommonCfg.STATUS_DRIVER_OK);
    }
  }
}
