package dev.vdisk.virtio.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.blk.BlkError;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.PciCounter;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * The real virtio-blk device behind the transport, under random register traffic, random bytes
 * scribbled over its rings and buffers, and doorbells: nothing throws into the VMM, neither the
 * transport nor the device reports an internal error, and the guard bytes around guest RAM (the
 * host memory right before and after the region) are never written.
 */
class PciStackPropertyTest {
  static final long RAM = 0x100000;
  static final long RAM_SIZE = 4 << 20;
  static final long GUARD = 64 * 1024;
  static final byte GUARD_BYTE = (byte) 0xA5;

  sealed interface Op permits Reg, Scribble, Kick, Init, Submit, BadDesc, BadAvail, Service {}

  /** A well-formed request made available (not kicked) by the driver. */
  record Submit(int queue, int type, int sector, int length) implements Op {}

  /**
   * A descriptor rewritten with hostile values (addresses at RAM edges, flag mixes, any next).
   * Index -1 means the head most recently made available, so the rewrite usually meets a kick.
   */
  record BadDesc(int queue, int index, long addr, int len, int flags, int next) implements Op {}

  /** avail.ring[slot] = head and avail.idx moved by {@code step} (possibly far ahead). */
  record BadAvail(int queue, int slot, int head, int step) implements Op {}

  /** The driver's interrupt handler runs. */
  record Service() implements Op {}

  /** A config (bar = -1) or BAR access. */
  record Reg(boolean write, int bar, long offset, int size, long value) implements Op {}

  /** Random bytes over part of the driver's DMA area (rings, indirect tables, slots). */
  record Scribble(int offset, int length, long seed) implements Op {}

  record Kick(int queue, boolean viaRegister) implements Op {}

  /** A correct bring-up by the driver model. */
  record Init(boolean linux) implements Op {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Integer> sizes = Arbitraries.of(1, 2, 4, 8, 1, 2, 4, 3, 0);
    Arbitrary<Long> values =
        Arbitraries.oneOf(
            Arbitraries.longs(),
            Arbitraries.of(0L, 1L, 2L, 4L, 8L, 0xFL, 0xFFFFL, 0xFFFF_FFFFL, -1L),
            Arbitraries.longs().between(RAM - 64, RAM + RAM_SIZE + 64));
    Arbitrary<Op> reg =
        Combinators.combine(
                Arbitraries.of(true, false),
                Arbitraries.of(-1, 0, 0, 0, 4, 4, 4, 1),
                Arbitraries.oneOf(
                    Arbitraries.longs().between(0, 0x40),
                    Arbitraries.longs().between(0, 0x4100),
                    Arbitraries.longs().between(0, 0x100)),
                sizes,
                values)
            .as(Reg::new);
    Arbitrary<Op> scribble =
        Combinators.combine(
                Arbitraries.oneOf(
                    Arbitraries.integers().between(0, 4096), // queue 0's ring
                    Arbitraries.integers().between(0, 64 * 1024)),
                Arbitraries.integers().between(1, 256),
                Arbitraries.longs())
            .as(Scribble::new);
    Arbitrary<Op> kick =
        Combinators.combine(Arbitraries.integers().between(-1, 2), Arbitraries.of(true, false))
            .as(Kick::new);
    Arbitrary<Op> init = Arbitraries.of(true, false).map(Init::new);
    Arbitrary<Op> submit =
        Combinators.combine(
                Arbitraries.integers().between(0, 1),
                Arbitraries.of(0, 1, 4, 8, 11, 13, 99),
                Arbitraries.integers().between(0, 2100),
                Arbitraries.of(0, 512, 4096, 5000, 16384))
            .as(Submit::new);
    Arbitrary<Op> badDesc =
        Combinators.combine(
                Arbitraries.integers().between(0, 1),
                Arbitraries.frequencyOf(
                    Tuple.of(2, Arbitraries.just(-1)),
                    Tuple.of(1, Arbitraries.integers().between(0, 127))),
                Arbitraries.oneOf(
                    Arbitraries.of(0L, RAM - 16, RAM + RAM_SIZE - 8, RAM + RAM_SIZE, -16L),
                    Arbitraries.longs().between(RAM, RAM + RAM_SIZE)),
                Arbitraries.of(0, 1, 15, 16, 17, 512, 4096, 65536, -1),
                Arbitraries.integers().between(0, 7),
                Arbitraries.integers().between(0, 200))
            .as(BadDesc::new);
    Arbitrary<Op> badAvail =
        Combinators.combine(
                Arbitraries.integers().between(0, 1),
                // mostly the next slot the device will read, sometimes anywhere in the ring
                Arbitraries.frequencyOf(
                    Tuple.of(3, Arbitraries.just(0)),
                    Tuple.of(1, Arbitraries.integers().between(0, 127))),
                Arbitraries.integers().between(0, 300),
                Arbitraries.of(1, 1, 2, 127, 128, 129, 40000))
            .as(BadAvail::new);
    Arbitrary<Op> service = Arbitraries.just(new Service());
    // Every sequence starts with a correct bring-up so that most kicks reach a live device.
    return Combinators.combine(
            init,
            Arbitraries.frequencyOf(
                    Tuple.of(3, reg),
                    Tuple.of(2, scribble),
                    Tuple.of(6, kick),
                    Tuple.of(1, init),
                    Tuple.of(6, submit),
                    Tuple.of(3, badDesc),
                    Tuple.of(2, badAvail),
                    Tuple.of(2, service))
                .list()
                // jqwik favours short lists; without a floor most tries end before any
                // hostile write meets a kick.
                .ofMinSize(15)
                .ofMaxSize(60))
        .as(
            (first, rest) -> {
              List<Op> all = new java.util.ArrayList<>(rest.size() + 1);
              all.add(first);
              all.addAll(rest);
              return all;
            });
  }

  @Provide
  Arbitrary<PciProfile> profiles() {
    return Arbitraries.of(PciProfile.class);
  }

  @Property(tries = 150)
  void hostileGuestCannotBreakTheStack(
      @ForAll("profiles") PciProfile profile, @ForAll("ops") List<Op> ops) {
    BytesStore<?, Void> host = BytesStore.nativeStoreWithFixedCapacity(RAM_SIZE + 2 * GUARD);
    host.zeroOut(0, RAM_SIZE + 2 * GUARD);
    for (long i = 0; i < GUARD; i++) {
      host.writeByte(i, GUARD_BYTE);
      host.writeByte(GUARD + RAM_SIZE + i, GUARD_BYTE);
    }
    GuestMemory memory =
        GuestMemory.of(MemoryRegion.wrap(RAM, host.addressForRead(GUARD), RAM_SIZE, true, null));
    RamDisk disk = RamDisk.create(1 << 20);
    try {
      VirtioBlkDevice blk =
          VirtioBlkDevice.builder(disk)
              .profile(
                  profile == PciProfile.AERO
                      ? dev.vdisk.virtio.blk.Profile.AERO
                      : dev.vdisk.virtio.blk.Profile.DEFAULT)
              .queues(profile == PciProfile.AERO ? 1 : 2)
              .build();
      InterruptLatch latch = new InterruptLatch();
      VirtioPciDevice pci =
          VirtioPciDevice.builder(blk)
              .profile(profile)
              .barWidth(BarWidth.BITS_64)
              .interruptSink(latch)
              .guestMemory(memory)
              .build();
      long dma = RAM + (1 << 20);
      PciVirtioBlkDriver[] driver = new PciVirtioBlkDriver[1];
      for (Op op : ops) {
        apply(pci, memory, latch, dma, op, driver);
      }
      long kicked = pci.counter(PciCounter.NOTIFY_DELIVERED);
      long badChains = 0;
      for (var q : blk.stats().queues()) {
        for (long e : q.queueErrors()) {
          badChains += e;
        }
        // framing the driver model never produces: no status byte, header cut short
        badChains += q.errors(BlkError.NO_STATUS_BYTE) + q.errors(BlkError.HEADER_TOO_SHORT);
      }
      Statistics.label("kicks reached a live device").collect(kicked > 0);
      Statistics.label("device saw hostile rings").collect(badChains > 0);
      Statistics.label("kicks reached a live device")
          .coverage(c -> c.check(true).percentage(p -> p >= 60.0));
      Statistics.label("device saw hostile rings")
          .coverage(c -> c.check(true).percentage(p -> p >= 20.0));
      assertThat(pci.counter(PciCounter.DEVICE_EXCEPTION)).isZero();
      assertThat(blk.stats().internalErrors()).isZero();
      assertThat(pci.configRead(0, 4)).isEqualTo(0x1042_1AF4L);
    } finally {
      memory.close();
      for (long i = 0; i < GUARD; i++) {
        assertThat(host.readByte(i)).isEqualTo(GUARD_BYTE);
        assertThat(host.readByte(GUARD + RAM_SIZE + i)).isEqualTo(GUARD_BYTE);
      }
      host.releaseLast();
    }
  }

  private static void apply(
      VirtioPciDevice pci,
      GuestMemory memory,
      InterruptLatch latch,
      long dma,
      Op op,
      PciVirtioBlkDriver[] driver) {
    PciVirtioBlkDriver d = driver[0];
    if (op instanceof Submit u) {
      if (d != null && u.queue() < d.queueCount()) {
        try {
          d.submit(
              u.queue(),
              u.type(),
              u.sector(),
              d.bounceBuffer(u.queue()),
              u.length(),
              u.type() == 0 || u.type() == 8);
        } catch (IllegalArgumentException | IllegalStateException ignored) {
          // more segments than seg_max, or the ring model's own bookkeeping refused
        }
      }
      return;
    }
    if (op instanceof BadDesc b) {
      if (d != null && b.queue() < d.queueCount()) {
        SplitRingDriver r = d.ring(b.queue());
        int index =
            b.index() >= 0
                ? b.index()
                : memory.u16(r.availAddr() + 4 + 2L * ((r.availIdx() - 1) & (r.size() - 1)));
        r.writeDescriptor(index % r.size(), b.addr(), b.len(), b.flags(), b.next());
      }
      return;
    }
    if (op instanceof BadAvail a) {
      if (d != null && a.queue() < d.queueCount()) {
        SplitRingDriver r = d.ring(a.queue());
        r.putAvailRing(r.availIdx() + a.slot(), a.head());
        r.setAvailIdx(r.availIdx() + a.step());
      }
      return;
    }
    if (op instanceof Service) {
      if (d != null) {
        try {
          d.serviceInterrupts();
        } catch (IllegalStateException expected) {
          // the driver model caught a used entry it never submitted: our own corruption
        }
      }
      return;
    }
    if (op instanceof Reg r) {
      if (r.bar() < 0) {
        if (r.write()) {
          pci.configWrite((int) r.offset(), r.size(), r.value());
        } else {
          pci.configRead((int) r.offset(), r.size());
        }
      } else if (r.write()) {
        pci.barWrite(r.bar(), r.offset(), r.size(), r.value());
      } else {
        pci.barRead(r.bar(), r.offset(), r.size());
      }
    } else if (op instanceof Scribble s) {
      byte[] junk = new byte[s.length()];
      new Random(s.seed()).nextBytes(junk);
      memory.write(dma + s.offset(), junk, 0, junk.length);
    } else if (op instanceof Kick k) {
      if (k.viaRegister()) {
        int bar = pci.layout().bar();
        pci.barWrite(bar, pci.notifyRegion().queueOffset(Math.max(k.queue(), 0)), 2, k.queue());
      } else {
        pci.notifyQueue(k.queue());
      }
    } else if (op instanceof Init i) {
      try {
        driver[0] = null;
        driver[0] =
            PciVirtioBlkDriver.builder(pci, memory, latch)
                .behaviour(i.linux() ? DriverBehaviour.LINUX : DriverBehaviour.AEROVBLK)
                .aeroStrictLayout(false)
                .dmaArea(dma, 2 << 20)
                .queues(2)
                .maxQueueSize(128)
                .maxTransfer(16 * 1024)
                .timeout(1, TimeUnit.SECONDS)
                .build()
                .initialize();
      } catch (DriverRefusedException expected) {
        // e.g. aerovblk on a device whose queue is not 128 entries
      }
    }
  }
}
