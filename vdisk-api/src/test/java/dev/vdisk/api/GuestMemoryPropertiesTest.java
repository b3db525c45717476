package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Random region layouts (adjacent regions, gaps, regions at the very top of the 64-bit space) and
 * random accesses concentrated around region edges. Every region is carved out of one native
 * allocation with guard bytes around it, so an access that strays outside its region shows up as a
 * changed guard even when it does not crash.
 *
 * <ul>
 *   <li>every access inside one region works and reads back what the model says was written;
 *   <li>every access that is unmapped, partly unmapped or crosses into the next region throws
 *       {@link GuestMemoryException} (or returns -1 from {@code regionIndex});
 *   <li>no guard byte ever changes.
 * </ul>
 */
class GuestMemoryPropertiesTest {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final int GUARD = 64;
  private static final byte GUARD_BYTE = (byte) 0xa5;

  /** A layout: region sizes, gaps between them (0 = adjacent), and where the first one starts. */
  record Layout(List<Integer> sizes, List<Integer> gaps, long base, boolean atTop) {
    long span() {
      long s = 0;
      for (int i = 0; i < sizes.size(); i++) {
        s += sizes.get(i) + (i + 1 < sizes.size() ? gaps.get(i) : 0);
      }
      return s;
    }

    /** Guest base of the first region: {@code base}, or so the last region ends at 2^64. */
    long firstBase() {
      return atTop ? -span() : base;
    }
  }

  /** One access: which edge of which region it aims at, how far off, how long, and what it does. */
  record Probe(int region, boolean end, int delta, int length, int kind, long seed) {}

  @Provide
  Arbitrary<Layout> layouts() {
    Arbitrary<List<Integer>> sizes =
        Arbitraries.integers().between(1, 2048).list().ofMinSize(1).ofMaxSize(5);
    Arbitrary<List<Integer>> gaps =
        Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.just(0)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(1, 4096)))
            .list()
            .ofSize(4);
    Arbitrary<Long> base =
        Arbitraries.oneOf(
            Arbitraries.just(0L),
            Arbitraries.longs().between(0, 1L << 40),
            Arbitraries.longs().between(Long.MAX_VALUE - (1 << 20), Long.MAX_VALUE - (1 << 16)));
    return Combinators.combine(sizes, gaps, base, Arbitraries.of(false, false, false, true))
        .as(Layout::new);
  }

  @Provide
  Arbitrary<List<Probe>> probes() {
    return Combinators.combine(
            Arbitraries.integers().between(0, 4),
            Arbitraries.of(true, false),
            Arbitraries.integers().between(-12, 12),
            Arbitraries.oneOf(Arbitraries.of(1, 2, 4, 8), Arbitraries.integers().between(0, 300)),
            Arbitraries.integers().between(0, 9),
            Arbitraries.longs())
        .as(Probe::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(60);
  }

  @Property(tries = 300)
  void accessesInsideOneRegionWorkAndAllOthersAreRefusedWithoutStrayWrites(
      @ForAll("layouts") Layout layout, @ForAll("probes") List<Probe> probes) {
    int n = layout.sizes().size();
    long[] guestBases = new long[n];
    long[] hostOffsets = new long[n];
    long hostSize = GUARD;
    long gpa = layout.firstBase();
    for (int i = 0; i < n; i++) {
      guestBases[i] = gpa;
      hostOffsets[i] = hostSize;
      hostSize += layout.sizes().get(i) + GUARD;
      gpa += layout.sizes().get(i) + (i + 1 < n ? layout.gaps().get(i) : 0);
    }
    BytesStore<?, Void> host = BytesStore.nativeStoreWithFixedCapacity(hostSize);
    BytesStore<?, Void> scratch = BytesStore.nativeStoreWithFixedCapacity(512);
    try {
      long hostBase = host.addressForRead(0);
      MEMORY.setMemory(hostBase, hostSize, GUARD_BYTE);
      byte[][] model = new byte[n][];
      List<MemoryRegion> regions = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int size = layout.sizes().get(i);
        model[i] = new byte[size];
        MEMORY.setMemory(hostBase + hostOffsets[i], size, (byte) 0);
        regions.add(MemoryRegion.wrap(guestBases[i], hostBase + hostOffsets[i], size, true, null));
      }
      GuestMemory memory = GuestMemory.of(regions);
      for (Probe p : probes) {
        int r = Math.min(p.region(), n - 1);
        long edge = p.end() ? guestBases[r] + layout.sizes().get(r) : guestBases[r];
        long address = edge + p.delta();
        int length = p.length();
        int owner = owner(guestBases, layout, address, length);
        boolean valid = owner >= 0;
        net.jqwik.api.statistics.Statistics.label("access")
            .collect(valid ? "inside one region" : "refused");
        assertThat(memory.regionIndex(address, length) >= 0)
            .as("regionIndex(0x%x, %d) on %s", address, length, memory)
            .isEqualTo(valid);
        apply(
            memory,
            scratch,
            p,
            address,
            length,
            valid,
            owner < 0 ? null : model[owner],
            owner < 0 ? 0 : (int) (address - guestBases[owner]));
      }
      // Every byte of every region is what the model says, and every guard is intact.
      for (int i = 0; i < n; i++) {
        byte[] actual = new byte[model[i].length];
        memory.read(guestBases[i], actual, 0, actual.length);
        assertThat(actual).as("region %d contents", i).isEqualTo(model[i]);
      }
      for (int i = 0; i <= n; i++) {
        long guardStart = i == 0 ? 0 : hostOffsets[i - 1] + layout.sizes().get(i - 1);
        for (int g = 0; g < GUARD; g++) {
          assertThat(MEMORY.readByte(hostBase + guardStart + g))
              .as("guard byte %d after region %d", g, i - 1)
              .isEqualTo(GUARD_BYTE);
        }
      }
    } finally {
      scratch.releaseLast();
      host.releaseLast();
    }
  }

  /** The region holding all of [address, address+length), by a model independent of the code. */
  private static int owner(long[] bases, Layout layout, long address, int length) {
    for (int i = 0; i < bases.length; i++) {
      long size = layout.sizes().get(i);
      long offset = address - bases[i];
      if (Long.compareUnsigned(address, bases[i]) >= 0
          && Long.compareUnsigned(offset, size) < 0
          && length <= size - offset) {
        return i;
      }
    }
    return -1;
  }

  private static void apply(
      GuestMemory m,
      BytesStore<?, Void> scratch,
      Probe p,
      long address,
      int length,
      boolean valid,
      byte[] model,
      int at) {
    java.util.Random random = new java.util.Random(p.seed());
    int width =
        switch (length) {
          case 1, 2, 4, 8 -> length;
          default -> 0;
        };
    Runnable op;
    Runnable expect = () -> {};
    switch (p.kind()) {
      case 0, 1 -> {
        // Fixed-width load (kind 0) or store (kind 1); other lengths use the bulk forms below.
        if (width == 0) {
          op = () -> m.slice(address, length);
          break;
        }
        long value = random.nextLong();
        if (p.kind() == 1) {
          op = () -> put(m, address, width, value);
          expect = () -> setLe(model, at, width, value);
        } else {
          op = () -> assertThat(get(m, address, width)).isEqualTo(getLe(model, at, width));
        }
      }
      case 2 -> {
        byte[] out = new byte[length + 3];
        op =
            () -> {
              m.read(address, out, 3, length);
              assertThat(Arrays.copyOfRange(out, 3, 3 + length))
                  .isEqualTo(Arrays.copyOfRange(model, at, at + length));
            };
      }
      case 3 -> {
        byte[] in = new byte[length];
        random.nextBytes(in);
        op = () -> m.write(address, in, 0, length);
        expect = () -> System.arraycopy(in, 0, model, at, length);
      }
      case 4 -> {
        byte value = (byte) random.nextInt();
        op = () -> m.fill(address, length, value);
        expect = () -> Arrays.fill(model, at, at + length, value);
      }
      case 5 -> {
        int len = Math.min(length, 512);
        op =
            () -> {
              m.copyTo(address, scratch, 0, len);
              byte[] out = new byte[len];
              scratch.read(0, out, 0, len);
              assertThat(out).isEqualTo(Arrays.copyOfRange(model, at, at + len));
            };
        if (len != length) {
          return; // validity was computed for the full length
        }
      }
      case 6 -> {
        int len = Math.min(length, 512);
        if (len != length) {
          return;
        }
        byte[] in = new byte[len];
        random.nextBytes(in);
        scratch.write(0, in, 0, len);
        op = () -> m.copyFrom(scratch, 0, address, len);
        expect = () -> System.arraycopy(in, 0, model, at, len);
      }
      case 7 -> {
        op =
            () -> {
              MemorySlice s = m.slice(address, length);
              assertThat(s.length()).isEqualTo(length);
              assertThat(s.guestAddress()).isEqualTo(address);
              byte[] out = new byte[length];
              s.store().read(s.offset(), out, 0, length);
              assertThat(out).isEqualTo(Arrays.copyOfRange(model, at, at + length));
            };
      }
      case 8 -> {
        op = () -> assertThat(m.hostAddress(address, length)).isNotZero();
      }
      default -> {
        op = () -> m.readOnlyView().regionFor(address, length);
      }
    }
    if (valid) {
      op.run();
      expect.run();
    } else {
      Runnable refused = op;
      org.assertj.core.api.Assertions.assertThatThrownBy(refused::run)
          .as("access 0x%x+%d (kind %d) on %s", address, length, p.kind(), m)
          .isInstanceOf(GuestMemoryException.class)
          .hasMessageContaining(String.format("0x%x", address))
          .hasMessageContaining("+" + length);
    }
  }

  private static void put(GuestMemory m, long address, int width, long value) {
    switch (width) {
      case 1 -> m.putU8(address, (int) value);
      case 2 -> m.putU16(address, (int) value);
      case 4 -> m.putU32(address, value);
      default -> m.putU64(address, value);
    }
  }

  private static long get(GuestMemory m, long address, int width) {
    return switch (width) {
      case 1 -> m.u8(address);
      case 2 -> m.u16(address);
      case 4 -> m.u32(address);
      default -> m.u64(address);
    };
  }

  private static void setLe(byte[] model, int at, int width, long value) {
    for (int i = 0; i < width; i++) {
      model[at + i] = (byte) (value >>> (8 * i));
    }
  }

  private static long getLe(byte[] model, int at, int width) {
    long v = 0;
    for (int i = 0; i < width; i++) {
      v |= (model[at + i] & 0xffL) << (8 * i);
    }
    return v;
  }
}
