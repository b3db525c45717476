package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.testkit.NativeBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real data: Debian's syslinux MEMDISK booted under QEMU TCG with images built here (floppy, hard
 * disk with an MBR in {@code harddisk ro} mode, a no-emulation ISO in {@code iso} mode and an El
 * Torito floppy-emulation ISO), guest RAM dumped over QMP, then probed. The RAM disk found must
 * hold the image's exact bytes, size and geometry, and agree with the summary MEMDISK printed on
 * the guest's text screen ("Ramdisk at ...", "Disk is ..., C/H/S = ...").
 *
 * <p>Needs the Debian packages qemu-system-x86, syslinux-common, dosfstools, mtools and xorriso (or
 * genisoimage); fails naming the package when one is missing.
 */
class MemdiskQemuIT {
  private static final Pattern RAMDISK =
      Pattern.compile("Ramdisk at 0x([0-9a-f]+), length 0x([0-9a-f]+)");
  private static final Pattern DISK =
      Pattern.compile(
          "Disk is (\\w+), (\\d+) K, C/H/S = (\\d+)/(\\d+)/(\\d+) \\(.*\\), EDD \\w+, (r[ow])");

  @TempDir Path dir;

  /** What MEMDISK printed. */
  record Screen(long ramdisk, long length, String drive, long c, long h, long s, boolean ro) {
    static Screen parse(String text) {
      Matcher r = RAMDISK.matcher(text);
      Matcher d = DISK.matcher(text);
      assertThat(r.find()).as("'Ramdisk at' line on the guest screen:\n%s", text).isTrue();
      assertThat(d.find()).as("'Disk is' line on the guest screen:\n%s", text).isTrue();
      return new Screen(
          Long.parseLong(r.group(1), 16),
          Long.parseLong(r.group(2), 16),
          d.group(1),
          Long.parseLong(d.group(3)),
          Long.parseLong(d.group(4)),
          Long.parseLong(d.group(5)),
          d.group(6).equals("ro"));
    }
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void floppy() throws Exception {
    Path img = TestImages.floppy(dir);
    QemuMemdiskBoot.Dump dump = QemuMemdiskBoot.boot(dir, "floppy", img, null);
    Screen screen = Screen.parse(dump.screen());
    try (GuestMemory m = MemoryDump.open(dump.file(), 0)) {
      ProbeResult r = probe(m, dump);
      MemoryDisk d = onlyMemdiskDisk(r, dump);
      assertThat(d.media()).isEqualTo(Media.FLOPPY);
      assertThat(d.biosDrive()).isZero();
      assertThat(d.sectorSize()).isEqualTo(512);
      assertThat(d.cdrom()).isFalse();
      assertThat(d.readOnly()).isFalse();
      assertThat(geometry(d)).containsExactly(80L, 2L, 18L);
      assertThat(geometry(d)).containsExactly(screen.c(), screen.h(), screen.s());
      assertThat(screen.drive()).isEqualTo("fd0");
      assertThat(d.address()).isEqualTo(screen.ramdisk());
      assertThat(d.size()).isEqualTo(screen.length()).isEqualTo(Files.size(img));
      assertSameBytes(m, d, Files.readAllBytes(img), 0);
      assertThat(r.memdisks().get(0).commandLine()).isEmpty();
      fuzzLowMemory(m);
    }
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void readOnlyHardDisk() throws Exception {
    Path img = TestImages.hardDisk(dir);
    QemuMemdiskBoot.Dump dump = QemuMemdiskBoot.boot(dir, "harddisk", img, "harddisk ro");
    Screen screen = Screen.parse(dump.screen());
    try (GuestMemory m = MemoryDump.open(dump.file(), 0)) {
      ProbeResult r = probe(m, dump);
      MemoryDisk d = onlyMemdiskDisk(r, dump);
      assertThat(d.media()).isEqualTo(Media.HARD_DISK);
      assertThat(d.biosDrive()).isEqualTo(0x80);
      assertThat(screen.drive()).isEqualTo("hd0");
      assertThat(d.readOnly()).isTrue().isEqualTo(screen.ro());
      assertThat(geometry(d)).containsExactly(16L, 16L, 63L);
      assertThat(geometry(d)).containsExactly(screen.c(), screen.h(), screen.s());
      assertThat(d.address()).isEqualTo(screen.ramdisk());
      assertThat(d.size()).isEqualTo(Files.size(img)).isEqualTo(screen.length());
      assertSameBytes(m, d, Files.readAllBytes(img), 0);
      assertThat(r.memdisks().get(0).commandLine()).isEqualTo("harddisk ro");
      assertThat(r.memdisks().get(0).edd()).isNotNull();
      assertThat(r.memdisks().get(0).edd().totalSectors()).isEqualTo(d.lbaCount());
      assertThat(MemoryDiskDevice.open(m, d).isReadOnly()).isTrue();
      fuzzLowMemory(m);
    }
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void noEmulationIso() throws Exception {
    Path iso = TestImages.noEmulationIso(dir);
    QemuMemdiskBoot.Dump dump = QemuMemdiskBoot.boot(dir, "iso", iso, "iso");
    Screen screen = Screen.parse(dump.screen());
    try (GuestMemory m = MemoryDump.open(dump.file(), 0)) {
      ProbeResult r = probe(m, dump);
      MemoryDisk d = onlyMemdiskDisk(r, dump);
      assertThat(d.cdrom()).isTrue();
      assertThat(d.media()).isEqualTo(Media.CDROM);
      assertThat(d.sectorSize()).isEqualTo(2048);
      assertThat(d.biosDrive()).isEqualTo(0xE0);
      assertThat(d.lbaCount()).isEqualTo(Files.size(iso) / 2048);
      assertThat(d.size()).isEqualTo(Files.size(iso));
      assertThat(geometry(d)).containsExactly(65535L, 255L, 15L);
      assertThat(geometry(d)).containsExactly(screen.c(), screen.h(), screen.s());
      assertThat(d.address()).isEqualTo(screen.ramdisk());
      assertSameBytes(m, d, Files.readAllBytes(iso), 0);
      MemdiskInfo info = r.memdisks().get(0);
      assertThat(info.sectorShift()).isEqualTo(11);
      assertThat(info.cdPacket()).isNotNull();
      assertThat(info.cdPacket().mediaType()).isZero();
      assertThat(MemoryDiskDevice.open(m, d).blockSize()).isEqualTo(2048);
      fuzzLowMemory(m);
    }
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void elToritoFloppyEmulationIso() throws Exception {
    Path floppy = TestImages.floppy(dir);
    Path iso = TestImages.floppyEmulationIso(dir, floppy);
    QemuMemdiskBoot.Dump dump = QemuMemdiskBoot.boot(dir, "fe-iso", iso, "iso");
    Screen screen = Screen.parse(dump.screen());
    try (GuestMemory m = MemoryDump.open(dump.file(), 0)) {
      ProbeResult r = probe(m, dump);
      MemoryDisk d = onlyMemdiskDisk(r, dump);
      MemdiskInfo info = r.memdisks().get(0);
      assertThat(info.cdPacket()).as("El Torito packet").isNotNull();
      assertThat(info.cdPacket().mediaType()).isEqualTo(2); // 1.44 MB
      long imageStart = info.cdPacket().imageRba() * 2048;
      byte[] isoBytes = Files.readAllBytes(iso);
      assertThat(d.media()).isEqualTo(Media.FLOPPY);
      assertThat(d.sectorSize()).isEqualTo(512);
      assertThat(d.cdrom()).isFalse();
      assertThat(d.address()).isEqualTo(screen.ramdisk() + imageStart);
      // MEMDISK exposes everything from the boot image to the end of the ISO.
      assertThat(d.size()).isEqualTo(isoBytes.length - imageStart);
      assertThat(geometry(d)).containsExactly(80L, 2L, 18L);
      assertThat(geometry(d)).containsExactly(screen.c(), screen.h(), screen.s());
      assertThat(d.warnings()).anyMatch(w -> w.contains("covers 2880 sectors"));
      assertSameBytes(m, d, isoBytes, imageStart);
      byte[] fd = Files.readAllBytes(floppy);
      assertThat(Arrays.copyOfRange(isoBytes, (int) imageStart, (int) imageStart + fd.length))
          .isEqualTo(fd);
    }
  }

  private static ProbeResult probe(GuestMemory m, QemuMemdiskBoot.Dump dump) {
    ProbeResult r = ProbeProperties.probeStrictly(m, ProbeOptions.DEFAULTS);
    String context = ProbeReport.format(r) + "\nguest screen:\n" + dump.screen();
    assertThat(r.rejected()).as(context).isEmpty();
    assertThat(r.hooks()).as(context).hasSize(1);
    HookInfo h = r.hooks().get(0);
    assertThat(h.kind()).isEqualTo("MEMDISK");
    int segment = Integer.parseInt(h.vector().substring(0, 4), 16);
    assertThat(segment).as("MEMDISK segment, %s", context).isBetween(0x9E00, 0x9F40);
    assertThat(h.vector()).endsWith(":000A");
    assertThat(r.chainEnd().normal()).isTrue();
    assertThat(r.chainEnd().address()).as("chain ends in the BIOS").isGreaterThanOrEqualTo(0xF0000);
    assertThat(r.memdisks().get(0).version()).matches("\\d+\\.\\d\\d");
    assertThat(r.memdisks().get(0).oemId()).isEqualTo("MEMDSK");
    return r;
  }

  private static MemoryDisk onlyMemdiskDisk(ProbeResult r, QemuMemdiskBoot.Dump dump) {
    assertThat(r.disks()).as(ProbeReport.format(r) + dump.screen()).hasSize(1);
    MemoryDisk d = r.disks().get(0);
    assertThat(d.kind()).isEqualTo(DiskKind.MEMDISK);
    assertThat(d.end()).isLessThanOrEqualTo(QemuMemdiskBoot.RAM_BYTES);
    return d;
  }

  private static long[] geometry(MemoryDisk d) {
    return new long[] {d.cylinders(), d.heads(), d.sectors()};
  }

  /** Reads the whole disk through the block-device view and compares it with the source. */
  private static void assertSameBytes(GuestMemory m, MemoryDisk d, byte[] source, long from)
      throws Exception {
    assertThat(source.length - from).isEqualTo(d.size());
    int chunk = 64 * 1024;
    try (MemoryDiskDevice dev = MemoryDiskDevice.open(m, d);
        NativeBuffer io = new NativeBuffer(chunk)) {
      for (long off = 0; off < d.size(); off += chunk) {
        int n = (int) Math.min(chunk, d.size() - off);
        dev.read(off, io.store(), 0, n);
        byte[] got = io.get(0, n);
        byte[] want = Arrays.copyOfRange(source, (int) (from + off), (int) (from + off) + n);
        if (!Arrays.equals(got, want)) {
          int i = Arrays.mismatch(got, want);
          throw new AssertionError(
              String.format(
                  "RAM disk byte %d (guest 0x%x) is 0x%02x, image has 0x%02x",
                  off + i, d.address() + off + i, got[i], want[i]));
        }
      }
    }
  }

  /** Random bytes written into a copy of the real dump's first MiB: the probe stays sane. */
  private static void fuzzLowMemory(GuestMemory real) {
    try (GuestMemory m = GuestMemory.allocate(0, QemuMemdiskBoot.RAM_BYTES)) {
      ProbeProperties.copy(real, m, QemuMemdiskBoot.RAM_BYTES);
      byte[] low = new byte[1 << 20];
      m.read(0, low, 0, low.length);
      long hook = RealMode.linear(m.u32(0x4C));
      Random rnd = new Random(hook);
      for (int round = 0; round < 200; round++) {
        m.write(0, low, 0, low.length);
        for (int i = 0, n = 1 + rnd.nextInt(16); i < n; i++) {
          long at = rnd.nextBoolean() ? hook - 10 + rnd.nextInt(0x800) : rnd.nextInt(0x500);
          m.putU8(at, rnd.nextInt(256));
        }
        ProbeProperties.probeStrictly(m, ProbeOptions.DEFAULTS.withIncludeDisconnected(true));
      }
    }
  }
}
