package dev.vdisk.vhost.bench;

import dev.vdisk.vhost.testing.Initramfs;
import dev.vdisk.vhost.testing.LinuxGuest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * End-to-end comparison of vdisk's vhost-user-blk back end with qemu-storage-daemon's, driven by
 * fio inside one real Linux guest workload (see {@link FioJob#STANDARD}). Each round boots the same
 * guest once per server, alternating which goes first (ABBA), so drift on a shared machine hits
 * both; the report gives per-round figures and medians, and ratios vdisk / QEMU.
 *
 * <p>Run with {@code vdisk-vhost-user/bench/run-e2e.sh [options]}; options: {@code --rounds N}
 * (default 3), {@code --seconds N} per job (10), {@code --warmup N} seconds (5), {@code --image-mib
 * N} (512), {@code --guest-mib N} (512), {@code --cpus N} (1), {@code --queues N} (1), {@code
 * --markdown PATH}, {@code --json PATH}.
 */
public final class E2EBench {
  static final Duration GUEST_TIMEOUT = Duration.ofMinutes(10);
  static final String JOB_BEGIN = "BENCH-JOB-BEGIN ";
  static final String JOB_END = "BENCH-JOB-END ";

  final Map<String, String> opts = new LinkedHashMap<>();
  final int rounds;
  final int seconds;
  final int warmup;
  final int imageMib;
  final int guestMib;
  final int cpus;
  final int queues;
  final Path work = Path.of("target", "bench-e2e").toAbsolutePath();

  E2EBench(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("bad argument " + args[i] + " (expected --name value)");
      }
      opts.put(args[i].substring(2), args[++i]);
    }
    rounds = intOpt("rounds", 3, 1, 50);
    seconds = intOpt("seconds", 10, 2, 600);
    warmup = intOpt("warmup", 5, 0, 600);
    imageMib = intOpt("image-mib", 512, 16, 65536);
    guestMib = intOpt("guest-mib", 512, 256, 4096);
    cpus = intOpt("cpus", 1, 1, 16);
    queues = intOpt("queues", 1, 1, 16);
  }

  private int intOpt(String name, int dflt, int min, int max) {
    String v = opts.get(name);
    int n = v == null ? dflt : Integer.parseInt(v);
    if (n < min || n > max) {
      throw new IllegalArgumentException(
          "--" + name + " " + n + " (expected " + min + ".." + max + ")");
    }
    return n;
  }

  public static void main(String[] args) throws Exception {
    E2EBench b = new E2EBench(args);
    BenchResults results = b.run();
    Path md = Path.of(b.opts.getOrDefault("markdown", "BENCH.md"));
    Path json = Path.of(b.opts.getOrDefault("json", "../vdisk-bench/results/vhost-user-e2e.json"));
    results.writeMarkdown(md);
    results.writeJson(json);
    System.out.println(results.summary());
    System.out.println(
        "wrote " + md.toAbsolutePath().normalize() + " and " + json.toAbsolutePath().normalize());
  }

  BenchResults run() throws Exception {
    ServerUnderTest.qsdBinary();
    LinuxGuest.qemuBinary();
    Files.createDirectories(work);
    Path image = work.resolve("disk.img");
    writeImage(image, imageMib);
    Path initrd = initramfs();
    BenchResults results = new BenchResults(this, Instant.now());
    for (int round = 1; round <= rounds; round++) {
      List<String> order =
          round % 2 == 1
              ? List.of(ServerUnderTest.VDISK, ServerUnderTest.QSD)
              : List.of(ServerUnderTest.QSD, ServerUnderTest.VDISK);
      for (String server : order) {
        System.out.printf("round %d/%d: %s ...%n", round, rounds, server);
        Map<String, BenchResults.Sample> samples = runOnce(server, image, initrd, round);
        samples.forEach((job, s) -> results.add(server, job, s));
        samples.forEach(
            (job, s) ->
                System.out.printf(
                    "  %-18s %10.0f IOPS %9.1f MB/s %8.1f us/IO server CPU%n",
                    job, s.m().iops(), s.m().bytesPerSecond() / 1e6, s.cpuMicrosPerIo()));
      }
    }
    results.finish(Instant.now());
    return results;
  }

  /** Boots the guest against one server; returns per-job samples. */
  Map<String, BenchResults.Sample> runOnce(String server, Path image, Path initrd, int round)
      throws Exception {
    Path dir = work.resolve("round" + round + "-" + server);
    Files.createDirectories(dir);
    Path sock = dir.resolve("vu.sock");
    Files.deleteIfExists(dir.resolve("console.log")); // LinuxGuest appends
    Map<String, Long> cpuBegin = new LinkedHashMap<>();
    Map<String, Long> cpuEnd = new LinkedHashMap<>();
    try (ServerUnderTest s = ServerUnderTest.start(server, sock, image, queues);
        LinuxGuest guest =
            LinuxGuest.builder()
                .initramfs(initrd)
                .memoryMiB(guestMib)
                .cpus(cpus)
                .vhostUserBlk(sock, queues)
                .consoleLog(dir.resolve("console.log"))
                .start()) {
      // Sample the server's CPU time as the guest announces each job (polled: a few ms of slack
      // around a job of several seconds, in which the server is idle anyway).
      long deadline = System.nanoTime() + GUEST_TIMEOUT.toNanos();
      while (guest.isAlive() && System.nanoTime() < deadline) {
        String c = guest.console();
        for (FioJob j : FioJob.STANDARD) {
          if (!cpuBegin.containsKey(j.name()) && c.contains(JOB_BEGIN + j.name())) {
            cpuBegin.put(j.name(), s.cpuNanos());
          }
          if (!cpuEnd.containsKey(j.name()) && c.contains(JOB_END + j.name())) {
            cpuEnd.put(j.name(), s.cpuNanos());
          }
        }
        Thread.sleep(10);
      }
      LinuxGuest.Result r = guest.awaitExit(Duration.ofSeconds(30));
      if (r.timedOut() || r.workloadExit() != 0) {
        throw new IllegalStateException(
            server + " round " + round + ": " + r.describe() + "\nserver output:\n" + s.output());
      }
      Map<String, String> res = r.results();
      Map<String, BenchResults.Sample> out = new LinkedHashMap<>();
      for (FioJob j : FioJob.STANDARD) {
        String line = res.get(j.name());
        if (line == null || !cpuBegin.containsKey(j.name()) || !cpuEnd.containsKey(j.name())) {
          throw new IllegalStateException(
              server + " round " + round + ": no result for " + j.name() + "; " + r.describe());
        }
        FioJob.Measurement m = j.parse(line);
        out.put(
            j.name(),
            new BenchResults.Sample(round, m, cpuEnd.get(j.name()) - cpuBegin.get(j.name())));
      }
      return out;
    }
  }

  /** The guest workload: a warm-up, then each job between markers the harness watches. */
  String workload() {
    StringBuilder w = new StringBuilder("set -e\n");
    w.append("echo \"RESULT kernel $(uname -r)\"\n");
    w.append("echo \"RESULT size $(blockdev --getsize64 /dev/vda)\"\n");
    w.append("echo \"RESULT scheduler $(cat /sys/block/vda/queue/scheduler)\"\n");
    if (warmup > 0) {
      // Warm-up (unmeasured): JIT for vdisk, thread pools for QEMU, page cache for both.
      w.append(
          new FioJob("warmup-rand", "randread", "4k", 32, "")
                  .command(Math.max(1, warmup / 2 + warmup % 2))
              + " > /dev/null\n");
      w.append(new FioJob("warmup-seq", "read", "1m", 8, "").command(Math.max(1, warmup / 2)))
          .append(" > /dev/null\n");
    }
    for (FioJob j : FioJob.STANDARD) {
      w.append("echo '").append(JOB_BEGIN).append(j.name()).append("'\n");
      w.append("out=$(").append(j.command(seconds)).append(")\n");
      w.append("echo '").append(JOB_END).append(j.name()).append("'\n");
      w.append("echo \"RESULT ").append(j.name()).append(" $out\"\n");
    }
    return w.toString();
  }

  Path initramfs() {
    Path base =
        Initramfs.create()
            .busybox()
            .modules(
                List.of(
                    "virtio_ring",
                    "virtio",
                    "virtio_pci_modern_dev",
                    "virtio_pci_legacy_dev",
                    "virtio_pci",
                    "virtio_blk"))
            .standardInit()
            .program(
                ServerUnderTest.onPath(
                    "fio", "fio not found on PATH (install the Debian package fio)"))
            .write(work.resolve("fio-base.cpio"));
    return Initramfs.withWorkload(base, workload(), work.resolve("fio.cpio"));
  }

  /** An image of incompressible, non-repeating data, so no layer can shortcut holes or zeroes. */
  static void writeImage(Path image, int mib) throws IOException {
    if (Files.exists(image) && Files.size(image) == (long) mib << 20) {
      return;
    }
    byte[] buf = new byte[1 << 20];
    SplittableRandom rnd = new SplittableRandom(0x5644_4953_4bL);
    Path tmp = image.resolveSibling(image.getFileName() + ".tmp");
    try (OutputStream o = Files.newOutputStream(tmp)) {
      for (int i = 0; i < mib; i++) {
        for (int k = 0; k < buf.length; k += 8) {
          long v = rnd.nextLong();
          for (int b = 0; b < 8; b++) {
            buf[k + b] = (byte) (v >>> (8 * b));
          }
        }
        o.write(buf);
      }
    }
    Files.move(tmp, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** Text of a tool's --version (first line), for the report. */
  static String version(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor();
      int nl = out.indexOf('\n');
      return nl >= 0 ? out.substring(0, nl) : out;
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  List<String> commandLine() {
    List<String> c = new ArrayList<>(List.of("vdisk-vhost-user/bench/run-e2e.sh"));
    opts.forEach((k, v) -> c.add("--" + k + " " + v));
    return c;
  }
}
