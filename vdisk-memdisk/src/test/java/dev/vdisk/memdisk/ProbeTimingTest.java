package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Prints the CPU time of one probe on the accepting path and on each rejection path the fuzzer hits
 * most, with and without the mBFT scan, for the numbers (vdisk-bench's MemdiskProbeBench
 * times the accepting path on a 4 GiB sparse dump). Times are printed, never asserted (the machine
 * is shared); what is asserted is that each scenario takes the path it names, so a timing never
 * silently measures an early exit. CPU time, not wall time, so that other processes on the machine
 * do not inflate the figures.
 */
class ProbeTimingTest {
  private static final int WARMUP = 500;
  private static final int MEASURED = 500;
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  @Test
  void acceptingPath() {
    run("valid MEMDISK floppy", m -> new SyntheticMemdisk().writeTo(m), 1, null);
  }

  @Test
  void rejectionPaths() {
    run(
        "mBFT checksum wrong",
        m -> {
          SyntheticMemdisk md = new SyntheticMemdisk().writeTo(m);
          m.putU8(md.mbft() + 9, m.u8(md.mbft() + 9) ^ 1);
        },
        0,
        "checksum");
    run(
        "mBFT pointer outside the image",
        m -> m.putU32(new SyntheticMemdisk().writeTo(m).hook() + 27, 0x7FFFFFF0L),
        0,
        "mBFT pointer 0x7FFFFFF0");
    run(
        "hook chain loops",
        m -> {
          SyntheticMemdisk md = new SyntheticMemdisk();
          md.prev = SyntheticMemdisk.vector(md.segment, 0x000A);
          md.writeTo(m);
        },
        1, // the MEMDISK before the loop is still found
        "loops");
    run(
        "disksize 0",
        m -> {
          SyntheticMemdisk md = new SyntheticMemdisk();
          md.disksize = 0;
          md.writeTo(m);
        },
        0,
        "disksize 0");
    run(
        "table claims 4 GiB in a 16 MiB dump",
        m -> {
          SyntheticMemdisk md = new SyntheticMemdisk();
          md.disksize = (0xFFFFFFFFL - md.diskbuf) >>> 9;
          md.writeTo(m);
        },
        0,
        "not wholly in the image");
  }

  @Test
  void randomLowMemory() {
    run(
        "random bytes in the first MiB",
        m -> {
          byte[] low = new byte[1 << 20];
          new Random(4).nextBytes(low);
          m.write(0, low, 0, low.length);
        },
        0,
        null);
  }

  @Test
  void signatureInEveryScanSlot() {
    run(
        "'mBFT' in every 16-byte slot",
        m -> {
          for (long a = 0x500; a < 0xA0000; a += 16) {
            SyntheticMemdisk.put(m, a, "mBFT");
          }
        },
        0,
        "scan stopped here");
  }

  private static void run(
      String name, Consumer<GuestMemory> setup, int expectedDisks, String expectedReason) {
    try (GuestMemory m = Images.pc(16 << 20)) {
      setup.accept(m);
      for (boolean scan : new boolean[] {false, true}) {
        ProbeOptions options = ProbeOptions.DEFAULTS.withScanForMbft(scan);
        ProbeResult r = MemdiskProbe.probe(m, options);
        assertThat(r.rejected()).noneMatch(x -> x.subject().equals("probe"));
        assertThat(r.disks()).hasSize(expectedDisks);
        if (expectedReason == null || !scan && name.startsWith("'mBFT'")) {
          assertThat(r.rejected()).isEmpty();
        } else {
          assertThat(r.rejected()).anySatisfy(x -> assertThat(x.reason()).contains(expectedReason));
        }
        for (int i = 0; i < WARMUP; i++) {
          MemdiskProbe.probe(m, options);
        }
        long cpu0 = CPU.getCurrentThreadCpuTime();
        for (int i = 0; i < MEASURED; i++) {
          MemdiskProbe.probe(m, options);
        }
        long perProbe = (CPU.getCurrentThreadCpuTime() - cpu0) / MEASURED;
        System.out.printf(
            Locale.ROOT,
            "probe timing: %-38s scan %-3s %,9d ns CPU per probe (%d disks, %d rejections)%n",
            name,
            scan ? "on" : "off",
            perProbe,
            r.disks().size(),
            r.rejected().size());
      }
    }
  }
}
