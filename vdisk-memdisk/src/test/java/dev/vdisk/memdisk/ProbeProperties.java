package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The probe on hostile images: random bytes, mutated valid images, truncations at every length and
 * a real MEMDISK dump with random bytes written into it. On all of them it returns a result (no
 * exception), never even attempts a read outside the image, and every disk it reports lies wholly
 * in the image, clear of the first MiB's reserved ranges and of every other reported disk.
 */
class ProbeProperties {
  private static final byte[] REAL_BASE_640K = loadReal();

  private static byte[] loadReal() {
    try (InputStream in =
        new GZIPInputStream(
            ProbeProperties.class.getResourceAsStream(
                "/real/memdisk-6.04-floppy-base640k.bin.gz"))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ProbeResult probeStrictly(GuestMemory memory, ProbeOptions options) {
    StrictMemory strict = new StrictMemory(memory);
    ProbeResult r = MemdiskProbe.probe(strict, options);
    assertThat(strict.refused).as("out-of-image reads attempted: %s", strict.firstRefusal).isZero();
    assertThat(r.rejected()).noneMatch(x -> x.subject().equals("probe"));
    for (MemoryDisk d : r.disks()) {
      assertThat(d.size()).isPositive();
      assertThat(Bounds.covered(memory, d.address(), d.size())).isTrue();
      assertThat(Bounds.overlaps(d.address(), d.size(), 0, LowMemory.IVT_BDA_END)).isFalse();
      if (!options.includeOverlapping()) {
        for (MemoryDisk o : r.disks()) {
          if (o != d) {
            assertThat(Bounds.overlaps(d.address(), d.size(), o.address(), o.size())).isFalse();
          }
        }
      }
      // A device opens over every reported disk.
      MemoryDiskDevice.readOnly(memory, d).close();
    }
    return r;
  }

  @Property(tries = 60)
  void randomLowMemoryNeverThrows(@ForAll long seed, @ForAll("options") ProbeOptions options) {
    try (GuestMemory m = GuestMemory.allocate(0, 2 << 20)) {
      Random rnd = new Random(seed);
      byte[] low = new byte[1 << 20];
      rnd.nextBytes(low);
      m.write(0, low, 0, low.length);
      // Steer the chain into the random bytes often enough to exercise the parsers.
      long at = 0x500 + rnd.nextInt(0xFF000);
      SyntheticMemdisk.put(m, at + 3, "$INT13SF");
      SyntheticMemdisk.put(m, at + 11, rnd.nextBoolean() ? "MEMDISK " : "GRUB4DOS");
      m.putU32(0x4C, ((at >>> 4) << 16) | (at & 15));
      probeStrictly(m, options);
    }
  }

  @Property(tries = 150)
  void mutatedValidImagesNeverThrow(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int flips,
      @ForAll("options") ProbeOptions options) {
    try (GuestMemory m = Images.pc(32 << 20)) {
      Random rnd = new Random(seed);
      writeMixedChain(m);
      // Mutate bytes where the structures are: IVT/BDA and the resident blocks.
      for (int i = 0; i < flips; i++) {
        long at =
            rnd.nextInt(4) == 0 ? rnd.nextInt(0x500) : 0x9C000 + rnd.nextInt(0x9FC00 - 0x9C000);
        int value = rnd.nextInt(3) == 0 ? 0xFF : rnd.nextInt(256);
        m.putU8(at, value);
      }
      if (rnd.nextBoolean()) {
        // Re-fix the mBFT checksum so mutations reach past it into the MDI and disk checks.
        SyntheticMemdisk md = new SyntheticMemdisk();
        md.segment = 0x9C00;
        md.fixChecksum(m);
      }
      probeStrictly(m, options);
    }
  }

  @Property(tries = 100)
  void truncatedImagesNeverThrow(@ForAll @LongRange(min = 1, max = 0x1F00000) long cut) {
    try (GuestMemory full = Images.pc(32 << 20)) {
      writeMixedChain(full);
      try (GuestMemory m = GuestMemory.allocate(0, cut)) {
        copy(full, m, cut);
        ProbeResult r = probeStrictly(m, ProbeOptions.DEFAULTS);
        for (MemoryDisk d : r.disks()) {
          assertThat(d.address() + d.size()).isLessThanOrEqualTo(cut);
        }
      }
    }
  }

  @Property(tries = 40)
  void truncationAtEveryStructureBoundary(@ForAll("boundaries") long cut) {
    truncatedImagesNeverThrow(cut);
  }

  @Provide
  Arbitrary<Long> boundaries() {
    // MEMDISK at 0x9C000 (hook +10, mBFT +0x4C0, MDI +0x4E8, patch, cmdline) and GRUB4DOS at
    // 0x9CC00 (table +0x20, hook +0x100, end +0x11F), each cut a few bytes either side.
    Long[] points = {
      0x4CL,
      0x500L,
      0x9C00AL,
      0x9C00AL + 27,
      0x9C00AL + 31,
      0x9C4C0L,
      0x9C4C0L + 42,
      0x9C4C0L + 70,
      0x9C4E8L + 60,
      0x9C4E8L + 80,
      0x9C5C8L,
      0x9CC00L,
      0x9CC20L + 24,
      0x9CC20L + 216,
      0x9CD00L,
      0x9CD00L + 27,
      0x9CD1FL,
      0x200000L + 2880 * 512,
      0x1000000L + 32768 * 512
    };
    return Arbitraries.of(points)
        .flatMap(p -> Arbitraries.longs().between(p - 3, p + 3))
        .filter(c -> c > 0 && c <= 32 << 20);
  }

  @Property(tries = 100)
  void realDumpWithRandomBytesNeverThrows(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 64) int flips) {
    try (GuestMemory m = GuestMemory.allocate(0, 32 << 20)) {
      m.write(0, REAL_BASE_640K, 0, REAL_BASE_640K.length);
      Random rnd = new Random(seed);
      for (int i = 0; i < flips; i++) {
        // Mostly MEMDISK's block (0x9F400-0x9FC00), sometimes the IVT/BDA.
        long at = rnd.nextInt(3) == 0 ? rnd.nextInt(0x500) : 0x9F400 + rnd.nextInt(0x800);
        m.putU8(at, rnd.nextInt(256));
      }
      ProbeResult r = probeStrictly(m, ProbeOptions.DEFAULTS.withIncludeDisconnected(true));
      if (flips == 0) {
        assertThat(r.disks())
            .singleElement()
            .satisfies(
                d -> {
                  assertThat(d.address()).isEqualTo(0x1E78000);
                  assertThat(d.size()).isEqualTo(1474560);
                });
      }
    }
  }

  @Property(tries = 40)
  void imagesWithHolesNeverThrow(@ForAll long seed) {
    Random rnd = new Random(seed);
    try (GuestMemory full = Images.pc(32 << 20)) {
      writeMixedChain(full);
      // Low 640 KiB, a hole where the ROMs are, then RAM from 1 MiB, with a random hole in it.
      long holeStart = (0x100000 + rnd.nextInt(30 << 20)) & ~0xFFFL;
      long holeEnd = Math.min((32 << 20) - 8192, holeStart + 4096 + rnd.nextInt(4 << 20)) & ~0xFFFL;
      MemoryRegion low = MemoryRegion.allocate(0, 0xA0000);
      MemoryRegion mid = MemoryRegion.allocate(0x100000, holeStart - 0x100000 + 1);
      MemoryRegion high = MemoryRegion.allocate(holeEnd + 1, (32 << 20) - holeEnd - 1);
      try (GuestMemory m = GuestMemory.of(low, mid, high)) {
        byte[] b = new byte[0xA0000];
        full.read(0, b, 0, b.length);
        m.write(0, b, 0, b.length);
        probeStrictly(m, ProbeOptions.DEFAULTS);
      }
    }
  }

  @Provide
  Arbitrary<ProbeOptions> options() {
    return Arbitraries.of(
        ProbeOptions.DEFAULTS,
        ProbeOptions.DEFAULTS.withIncludeDisconnected(true).withIncludeOverlapping(true),
        ProbeOptions.DEFAULTS.withScanForMbft(false).withHopLimit(1));
  }

  /** MEMDISK (floppy, S=0x9C00) -> GRUB4DOS (0x9CC0, floppy + hard disk memdrives) -> BIOS. */
  static void writeMixedChain(GuestMemory m) {
    new SyntheticGrub4Dos()
        .slot(0x00, 0xFF, 0x01, 0x12, 0x8808, 0xFE, 0x7F, 0x1E78000L / 512, 2880)
        .slot(0x80, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, 0x1000000L / 512, 32768)
        .writeTo(m);
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.segment = 0x9C00;
    md.oldDosMem = 627;
    md.prev = SyntheticMemdisk.vector(0x9CC0, 0x0100);
    md.writeTo(m);
  }

  static void copy(GuestMemory from, GuestMemory to, long length) {
    byte[] b = new byte[1 << 16];
    for (long off = 0; off < length; off += b.length) {
      int n = (int) Math.min(b.length, length - off);
      from.read(off, b, 0, n);
      to.write(off, b, 0, n);
    }
  }
}
