package dev.vdisk.vhost.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Samples of an {@link E2EBench} run, their medians and ratios, as Markdown and JSON. */
final class BenchResults {
  /** One job on one server in one round; {@code cpuNanos}: the server's CPU time over the job. */
  record Sample(int round, FioJob.Measurement m, long cpuNanos) {
    double ios() {
      return m.iops() * m.runtimeMillis() / 1000.0;
    }

    /** Server CPU time per I/O, microseconds. */
    double cpuMicrosPerIo() {
      return cpuNanos / 1000.0 / Math.max(1.0, ios());
    }
  }

  private final E2EBench bench;
  private final Instant started;
  private final String loadBefore;
  private Instant finished;
  private String loadAfter;
  private final Map<String, Map<String, List<Sample>>> samples = new LinkedHashMap<>();

  BenchResults(E2EBench bench, Instant started) {
    this.bench = bench;
    this.started = started;
    this.loadBefore = loadAverage();
    for (String s : List.of(ServerUnderTest.VDISK, ServerUnderTest.QSD)) {
      Map<String, List<Sample>> m = new LinkedHashMap<>();
      FioJob.STANDARD.forEach(j -> m.put(j.name(), new ArrayList<>()));
      samples.put(s, m);
    }
  }

  void add(String server, String job, Sample s) {
    samples.get(server).get(job).add(s);
  }

  void finish(Instant at) {
    finished = at;
    loadAfter = loadAverage();
  }

  static double median(List<Double> values) {
    List<Double> v = new ArrayList<>(values);
    v.sort(Double::compare);
    int n = v.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }

  double medianIops(String server, String job) {
    return median(samples.get(server).get(job).stream().map(s -> s.m().iops()).toList());
  }

  double medianMBps(String server, String job) {
    return median(
        samples.get(server).get(job).stream().map(s -> s.m().bytesPerSecond() / 1e6).toList());
  }

  double medianLatency(String server, String job) {
    return median(
        samples.get(server).get(job).stream().map(s -> s.m().meanLatencyMicros()).toList());
  }

  double medianCpu(String server, String job) {
    return median(samples.get(server).get(job).stream().map(Sample::cpuMicrosPerIo).toList());
  }

  /**
   * Median over rounds of the per-round ratio vdisk / QEMU of {@code metric}: each round runs both
   * servers back to back, so a paired ratio cancels slow drift in the machine's load better than a
   * ratio of two medians taken across rounds.
   */
  double pairedRatio(String job, java.util.function.ToDoubleFunction<Sample> metric) {
    List<Double> ratios = new ArrayList<>();
    for (Sample v : samples.get(V).get(job)) {
      for (Sample q : samples.get(Q).get(job)) {
        if (v.round() == q.round()) {
          ratios.add(metric.applyAsDouble(v) / metric.applyAsDouble(q));
        }
      }
    }
    return median(ratios);
  }

  double pairedIopsRatio(String job) {
    return pairedRatio(job, s -> s.m().iops());
  }

  double pairedCpuRatio(String job) {
    return pairedRatio(job, Sample::cpuMicrosPerIo);
  }

  /** Rounds in which vdisk used less server CPU per I/O than QEMU. */
  long cpuWins(String job) {
    long wins = 0;
    for (Sample v : samples.get(V).get(job)) {
      for (Sample q : samples.get(Q).get(job)) {
        if (v.round() == q.round() && v.cpuMicrosPerIo() < q.cpuMicrosPerIo()) {
          wins++;
        }
      }
    }
    return wins;
  }

  private static final String V = ServerUnderTest.VDISK;
  private static final String Q = ServerUnderTest.QSD;

  String summary() {
    StringBuilder b = new StringBuilder("medians of " + bench.rounds + " rounds (vdisk / QEMU):\n");
    for (FioJob j : FioJob.STANDARD) {
      String n = j.name();
      b.append(
          String.format(
              Locale.ROOT,
              "  %-18s IOPS %9.0f / %9.0f = %.2f (paired %.2f)   MB/s %8.1f / %8.1f"
                  + "   CPU us/IO %6.1f / %6.1f (paired %.2f, vdisk lower in %d/%d rounds)%n",
              n,
              medianIops(V, n),
              medianIops(Q, n),
              medianIops(V, n) / medianIops(Q, n),
              pairedIopsRatio(n),
              medianMBps(V, n),
              medianMBps(Q, n),
              medianCpu(V, n),
              medianCpu(Q, n),
              pairedCpuRatio(n),
              cpuWins(n),
              bench.rounds));
    }
    return b.toString();
  }

  void writeMarkdown(Path out) throws IOException {
    DateTimeFormatter f =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);
    StringBuilder b = new StringBuilder();
    b.append("# vhost-user-blk end to end: vdisk vs qemu-storage-daemon\n\n");
    b.append("Generated by `")
        .append(String.join(" ", bench.commandLine()))
        .append("` on ")
        .append(f.format(started))
        .append(" (")
        .append(Duration.between(started, finished).toSeconds())
        .append(" s). Do not edit by hand: rerun the command.\n\n");
    b.append("## Set-up\n\n");
    for (Map.Entry<String, String> e : machine().entrySet()) {
      b.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
    }
    b.append(
        """
        - Disk: a raw image of incompressible data on the host, served by each server in turn
          through the host page cache (vdisk: `FileDisk`, positional FileChannel I/O, device
          defaults of `vdisk serve`; QEMU: `--blockdev driver=file,cache.direct=off` + raw,
          `--export type=vhost-user-blk`, defaults otherwise).
        - Guest: the host's Debian kernel and a busybox initramfs with Debian's fio (copied with its
          shared libraries); `vhost-user-blk-pci` on a shared memfd; fio with O_DIRECT, libaio, one
          job on /dev/vda, no ramp, after an unmeasured warm-up.
        - Each round boots the same guest once per server, alternating who goes first (ABBA);
          medians over rounds. Server CPU is the server process's user+system time over the job
          divided by the I/Os fio completed.

        """);
    b.append("## Medians (ratio = vdisk / qemu-storage-daemon)\n\n");
    b.append(
        "IOPS ratio > 1: vdisk faster. CPU ratio < 1: vdisk cheaper. *Paired* ratios are medians of"
            + " the per-round ratios (both servers ran back to back in each round).\n\n");
    b.append(
        "| workload | vdisk IOPS | QEMU IOPS | IOPS ratio | paired IOPS ratio | vdisk MB/s |"
            + " QEMU MB/s | vdisk clat µs | QEMU clat µs | vdisk CPU µs/IO | QEMU CPU µs/IO |"
            + " paired CPU ratio | vdisk cheaper in |\n");
    b.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (FioJob j : FioJob.STANDARD) {
      String n = j.name();
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f | %.0f | **%.2f** | %.2f | %.1f | %.1f | %.0f | %.0f | %.1f | %.1f |"
                  + " **%.2f** | %d/%d rounds |%n",
              j.label(),
              medianIops(V, n),
              medianIops(Q, n),
              medianIops(V, n) / medianIops(Q, n),
              pairedIopsRatio(n),
              medianMBps(V, n),
              medianMBps(Q, n),
              medianLatency(V, n),
              medianLatency(Q, n),
              medianCpu(V, n),
              medianCpu(Q, n),
              pairedCpuRatio(n),
              cpuWins(n),
              bench.rounds));
    }
    b.append("\n## Every round\n\n");
    b.append("| round | server | workload | IOPS | MB/s | clat µs | server CPU µs/IO |\n");
    b.append("|---:|---|---|---:|---:|---:|---:|\n");
    for (int r = 1; r <= bench.rounds; r++) {
      for (FioJob j : FioJob.STANDARD) {
        for (String s : List.of(V, Q)) {
          for (Sample x : samples.get(s).get(j.name())) {
            if (x.round() == r) {
              b.append(
                  String.format(
                      Locale.ROOT,
                      "| %d | %s | %s | %.0f | %.1f | %.0f | %.1f |%n",
                      r,
                      s,
                      j.label(),
                      x.m().iops(),
                      x.m().bytesPerSecond() / 1e6,
                      x.m().meanLatencyMicros(),
                      x.cpuMicrosPerIo()));
            }
          }
        }
      }
    }
    b.append(
        """

        ## Reading these numbers

        The guest runs under TCG (KVM hangs on these machines), so the guest's own CPU, not either
        server, limits small-block IOPS: both servers wait for a slow guest most of the time and the
        IOPS ratio near QD1 mostly measures the guest. The server CPU per I/O column is the figure
        that isolates the back ends. The machine is shared; the load averages above say how busy
        it was. On a loaded machine one server's IOPS vary several-fold from round to round (see
        "Every round"): trust an IOPS ratio only as far as the paired and unpaired ratios and
        the per-round figures agree. CPU per I/O varies far less and is the steadier comparison.
        """);
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, b.toString(), StandardCharsets.UTF_8);
  }

  void writeJson(Path out) throws IOException {
    StringBuilder b = new StringBuilder("{\n");
    b.append("  \"benchmark\": \"vhost-user-blk end to end, fio in a Linux guest\",\n");
    b.append("  \"command\": ").append(q(String.join(" ", bench.commandLine()))).append(",\n");
    b.append("  \"started\": ").append(q(started.toString())).append(",\n");
    b.append("  \"finished\": ").append(q(finished.toString())).append(",\n");
    b.append("  \"rounds\": ").append(bench.rounds).append(",\n");
    b.append("  \"secondsPerJob\": ").append(bench.seconds).append(",\n");
    b.append("  \"machine\": {");
    List<String> m = new ArrayList<>();
    machine().forEach((k, v) -> m.add("\n    " + q(k) + ": " + q(v)));
    b.append(String.join(",", m)).append("\n  },\n");
    b.append("  \"jobs\": [");
    List<String> jobs = new ArrayList<>();
    for (FioJob j : FioJob.STANDARD) {
      String n = j.name();
      StringBuilder jb = new StringBuilder();
      jb.append("\n    {\"name\": ").append(q(n)).append(", \"label\": ").append(q(j.label()));
      jb.append(", \"rw\": ").append(q(j.rw())).append(", \"bs\": ").append(q(j.blockSize()));
      jb.append(", \"iodepth\": ").append(j.iodepth());
      jb.append(
          String.format(
              Locale.ROOT,
              ", \"iopsRatio\": %.4f, \"throughputRatio\": %.4f, \"cpuPerIoRatio\": %.4f,"
                  + " \"pairedIopsRatio\": %.4f, \"pairedCpuPerIoRatio\": %.4f,"
                  + " \"roundsVdiskCheaper\": %d",
              medianIops(V, n) / medianIops(Q, n),
              medianMBps(V, n) / medianMBps(Q, n),
              medianCpu(V, n) / medianCpu(Q, n),
              pairedIopsRatio(n),
              pairedCpuRatio(n),
              cpuWins(n)));
      for (String s : List.of(V, Q)) {
        jb.append(", ").append(q(s)).append(": {");
        jb.append(
            String.format(
                Locale.ROOT,
                "\"medianIops\": %.1f, \"medianMBps\": %.2f, \"medianClatUs\": %.1f,"
                    + " \"medianCpuUsPerIo\": %.2f, \"samples\": [",
                medianIops(s, n),
                medianMBps(s, n),
                medianLatency(s, n),
                medianCpu(s, n)));
        List<String> xs = new ArrayList<>();
        for (Sample x : samples.get(s).get(n)) {
          xs.add(
              String.format(
                  Locale.ROOT,
                  "{\"round\": %d, \"iops\": %.1f, \"MBps\": %.2f, \"clatUs\": %.1f,"
                      + " \"cpuUsPerIo\": %.2f}",
                  x.round(),
                  x.m().iops(),
                  x.m().bytesPerSecond() / 1e6,
                  x.m().meanLatencyMicros(),
                  x.cpuMicrosPerIo()));
        }
        jb.append(String.join(", ", xs)).append("]}");
      }
      jb.append("}");
      jobs.add(jb.toString());
    }
    b.append(String.join(",", jobs)).append("\n  ]\n}\n");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, b.toString(), StandardCharsets.UTF_8);
  }

  private Map<String, String> machine() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("CPU", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores online");
    m.put("Host kernel", E2EBench.version("uname", "-sr"));
    m.put("Load average before / after", loadBefore + " / " + loadAfter);
    m.put("QEMU", E2EBench.version(dev.vdisk.vhost.testing.LinuxGuest.qemuBinary(), "--version"));
    m.put("qemu-storage-daemon", E2EBench.version(ServerUnderTest.qsdBinary(), "--version"));
    m.put("fio", E2EBench.version("fio", "--version"));
    m.put("Java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    m.put(
        "Guest",
        String.format(
            Locale.ROOT,
            "kernel %s, %d vCPU (TCG), %d MiB, %d queue(s); image %d MiB; %d s per job, %d s warm-up",
            dev.vdisk.vhost.testing.Initramfs.kernelRelease(),
            bench.cpus,
            bench.guestMib,
            bench.queues,
            bench.imageMib,
            bench.seconds,
            bench.warmup));
    return m;
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      return "unknown";
    }
    return "unknown";
  }

  private static String loadAverage() {
    try {
      String[] p = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return p[0] + " " + p[1] + " " + p[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
