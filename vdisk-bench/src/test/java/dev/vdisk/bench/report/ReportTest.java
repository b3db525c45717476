package dev.vdisk.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.vdisk.bench.BlkWorkload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
  @TempDir Path dir;

  private static String row(
      String benchmark, int threads, String params, double score, double alloc) {
    return """
        {"benchmark": "dev.vdisk.bench.%s", "mode": "avgt", "threads": %d,
         "jdkVersion": "17.0.15", "vmName": "OpenJDK 64-Bit Server VM", "params": {%s},
         "primaryMetric": {"score": %s, "scoreError": "NaN", "scoreUnit": "ns/op"},
         "secondaryMetrics": {"gc.alloc.rate.norm": {"score": %s, "scoreUnit": "B/op"}}}
        """
        .formatted(benchmark, threads, params, score, alloc);
  }

  private List<BenchResult> results() throws IOException {
    String json =
        "["
            + String.join(
                ",",
                row("MemcpyBench.diskToBuffers", 1, "\"size\": \"4096\"", 120, 0.01),
                row("MemcpyBench.buffersToDisk", 1, "\"size\": \"4096\"", 140, 0.01),
                row("MemcpyBench.diskToBuffers", 1, "\"size\": \"65536\"", 2340, 0.1),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"READ_4K\", \"layout\": \"DIRECT\"",
                    200,
                    0.02),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"READ_64K\", \"layout\": \"DIRECT\"",
                    2600,
                    0.02),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"MIXED_4K\", \"layout\": \"DIRECT\"",
                    250,
                    3.5),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"FLUSH\", \"layout\": \"DIRECT\"",
                    90,
                    0.0),
                row(
                    "VirtioBlkBench.twoQueuesQd256",
                    2,
                    "\"workload\": \"READ_4K\", \"layout\": \"INDIRECT\"",
                    400,
                    0.0))
            + "]";
    Path file = dir.resolve("results.json");
    Files.writeString(file, json);
    return BenchResult.read(file);
  }

  @Test
  void joinsEveryDeviceRowWithTheMemcpyOfTheSameCopies() throws IOException {
    Report report = new Report(results());

    assertThat(report.deviceRows()).hasSize(5);
    DeviceRow read4k = report.headline(BlkWorkload.READ_4K).orElseThrow();
    assertThat(read4k.queueDepth()).isEqualTo(32);
    assertThat(read4k.copyNs()).isEqualTo(120);
    assertThat(read4k.nsAboveCopy()).isEqualTo(80);
    assertThat(read4k.fractionOfMemcpy()).isCloseTo(0.6, within(1e-9));
    assertThat(read4k.requestsPerSecond()).isCloseTo(5e6, within(1.0));
    assertThat(read4k.bytesPerSecond()).isCloseTo(5e6 * 4096, within(1.0));

    DeviceRow mixed = report.headline(BlkWorkload.MIXED_4K).orElseThrow();
    // 179 of the 256 slots read (7 of every 10, and 4 of the last 6)
    assertThat(mixed.copyNs()).isCloseTo(179 / 256.0 * 120 + 77 / 256.0 * 140, within(1e-9));

    DeviceRow flush = report.headline(BlkWorkload.FLUSH).orElseThrow();
    assertThat(flush.copyNs()).isNaN();
    assertThat(flush.nsAboveCopy()).isEqualTo(90);
    assertThat(flush.bytesPerSecond()).isNaN();

    DeviceRow two =
        report.deviceRows().stream().filter(d -> d.queues() == 2).findFirst().orElseThrow();
    assertThat(two.queueDepth()).isEqualTo(256);
    assertThat(two.layout()).isEqualTo("INDIRECT");
    assertThat(two.requestsPerSecond()).isCloseTo(2 * 1e9 / 400, within(1.0));
  }

  @Test
  void singleForkVerdictsAreMarkedAsScreeningAndMultiForkOnesAreNot() throws IOException {
    for (int forks : new int[] {1, 3}) {
      String json =
          "["
              + String.join(
                      ",",
                      row("MemcpyBench.diskToBuffers", 1, "\"size\": \"4096\"", 120, 0.01),
                      row(
                          "VirtioBlkBench.qd32",
                          1,
                          "\"workload\": \"READ_4K\", \"layout\": \"DIRECT\"",
                          170,
                          0.0))
                  .replace("\"mode\"", "\"forks\": " + forks + ", \"mode\"")
              + "]";
      Path file = dir.resolve("forks" + forks + ".json");
      Files.writeString(file, json);
      String md = new Report(BenchResult.read(file)).markdown(List.of(), List.of());
      String row =
          "| 4 KiB read: device time above the copy < 60 ns | READ_4K qd32 direct | 50.0 ns |";
      if (forks == 1) {
        assertThat(md)
            .contains(row + " yes (1 fork: screening) |")
            .contains("the verdict comes from `run-report.sh --preset targets`");
      } else {
        assertThat(md).contains(row + " yes |").doesNotContain("screening");
      }
    }
  }

  @Test
  void markdownJudgesTheTargetsAndFlagsAllocation() throws IOException {
    String md = new Report(results()).markdown(List.of("CPU: test"), List.of("chart.png"));

    assertThat(md)
        .contains("- CPU: test")
        .contains(
            "| 4 KiB read: device time above the copy < 60 ns | READ_4K qd32 direct | 80.0 ns")
        .contains("| 64 KiB read: >= 85% of memcpy bandwidth | READ_64K qd32 direct | 90% | yes |")
        .contains("| ns per FLUSH | 95.0 | 90.0 | FLUSH qd32 direct |")
        .contains("| ns above the copy, 4 KiB read | 184 | 80.0 | READ_4K qd32 direct |")
        .contains("**3.50** ⚠")
        .contains("![chart.png](chart.png)");
    assertThat(md.lines().filter(l -> l.startsWith("| 4 KiB read")).findFirst().orElseThrow())
        .endsWith("| **no** |");
  }

  @Test
  void cpuTimeReplacesWallTimeWhenMeasured() throws IOException {
    String cpu = ", \"cpu.time.norm\": {\"score\": %s}, \"cpu.util\": {\"score\": %s}}}";
    String json =
        "["
            + row("MemcpyBench.diskToBuffers", 1, "\"size\": \"4096\"", 480, 0.0)
                .replaceFirst("\\}\\}\\s*$", cpu.formatted(120, 0.25))
            + ","
            + row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"READ_4K\", \"layout\": \"DIRECT\"",
                    1000,
                    0.0)
                .replaceFirst("\\}\\}\\s*$", cpu.formatted(170, 0.17))
            + "]";
    Path file = dir.resolve("cpu.json");
    Files.writeString(file, json);
    List<BenchResult> results = BenchResult.read(file);
    assertThat(results.get(1).cpuShare()).isEqualTo(0.17);

    DeviceRow d = new Report(results).headline(BlkWorkload.READ_4K).orElseThrow();

    assertThat(d.result().score()).isEqualTo(1000);
    assertThat(d.nsPerRequest()).isEqualTo(170);
    assertThat(d.copyNs()).isEqualTo(120);
    assertThat(d.nsAboveCopy()).isEqualTo(50);
  }

  @Test
  void chartsAreWrittenHeadless() throws IOException {
    List<String> charts = Charts.write(new Report(results()), dir);

    assertThat(charts).containsExactly(Charts.NS_PER_REQUEST, Charts.ABOVE_COPY, Charts.FRACTION);
    for (String c : charts) {
      byte[] png = Files.readAllBytes(dir.resolve(c));
      assertThat(png).startsWith(0x89, 'P', 'N', 'G');
    }
  }

  @Test
  void allocationIsJudgedOnHotLoopsOnlyAndTheProbeIsNotFlagged() throws IOException {
    String json =
        "["
            + String.join(
                ",",
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"FLUSH\", \"layout\": \"DIRECT\"",
                    90,
                    0.02),
                row("DriverBench.resubmitQd32", 1, "", 12, 0.4),
                row("MemdiskProbeBench.probe", 1, "", 650, 35094))
            + "]";
    Path file = dir.resolve("alloc.json");
    Files.writeString(file, json);
    Report report = new Report(BenchResult.read(file));

    assertThat(report.worstHotLoopAllocation().method()).isEqualTo("resubmitQd32");
    String md = report.markdown(List.of(), List.of());
    assertThat(md)
        .contains("| worst: DriverBench.resubmitQd32 {} | 0.40 B/op | yes |")
        .contains("| probe | — | 1 | 650 | — | — | ns/op | 35094 |")
        .doesNotContain("**35094**");

    String flagged = new Report(results()).markdown(List.of(), List.of());
    assertThat(
            flagged
                .lines()
                .filter(l -> l.startsWith("| steady-state loop"))
                .findFirst()
                .orElseThrow())
        .contains("MIXED_4K")
        .endsWith("| 3.50 B/op | **no** |");
  }

  @Test
  void endToEndSectionComesFromTheVhostUserJsonAndToleratesMissingFields() throws IOException {
    assertThat(E2eSection.render(dir.resolve("absent.json"))).isEmpty();

    Path file = dir.resolve(E2eSection.FILE_NAME);
    Files.writeString(
        file,
        """
        {"benchmark": "vhost-user-blk end to end", "command": "run-e2e.sh --rounds 5",
         "started": "T0", "finished": "T1", "rounds": 5, "secondsPerJob": 10,
         "machine": {"CPU": "AMD EPYC, 2 cores online", "QEMU": "7.2"},
         "jobs": [
          {"name": "randread-4k-qd1", "label": "4 KiB random read, QD1", "iopsRatio": 0.8708,
           "cpuPerIoRatio": 0.4639, "pairedIopsRatio": 1.5387, "pairedCpuPerIoRatio": 0.4044,
           "roundsVdiskCheaper": 5,
           "vdisk": {"medianIops": 1146.0, "medianMBps": 4.70, "medianClatUs": 288.2,
                     "medianCpuUsPerIo": 34.49, "samples": []},
           "qemu-storage-daemon": {"medianIops": 1316.0, "medianMBps": 5.39,
                     "medianClatUs": 318.4, "medianCpuUsPerIo": 74.36}},
          {"name": "write-1m-qd8",
           "vdisk": {"medianIops": 300.4}}]}
        """);

    String md = E2eSection.render(file);

    assertThat(md)
        .startsWith("## End to end: vhost-user-blk against qemu-storage-daemon")
        .contains("medians of 5 alternating rounds of 10 s per job")
        .contains("- CPU: AMD EPYC, 2 cores online")
        .contains("- command: `run-e2e.sh --rounds 5`, T0 to T1")
        .contains(
            "| 4 KiB random read, QD1 | 1146 | 1316 | 0.87 | 4.7 | 5.4 | 288 | 318 | 34.5 | 74.4"
                + " | 0.46 | 1.54 | 0.40 | 5 of 5 |")
        .contains("| write-1m-qd8 | 300 | — | — | — | — | — | — | — | — | — | — | — | — |");

    Files.writeString(file, "{not json");
    assertThat(E2eSection.render(file)).contains("Could not read");

    String report =
        new Report(results()).markdown(List.of(), List.of("chart.png"), E2eSection.render(file));
    assertThat(report.indexOf("## End to end")).isLessThan(report.indexOf("## Charts"));
  }

  @Test
  void directRowsUseTheSixtyFourOffsetBaselineAndIndirectRowsTheFullOne() throws IOException {
    String json =
        "["
            + String.join(
                ",",
                row(
                    "MemcpyBench.diskToBuffers",
                    1,
                    "\"size\": \"65536\", \"slots\": \"64\"",
                    2000,
                    0),
                row(
                    "MemcpyBench.diskToBuffers",
                    1,
                    "\"size\": \"65536\", \"slots\": \"256\"",
                    4000,
                    0),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"READ_64K\", \"layout\": \"DIRECT\"",
                    2500,
                    0),
                row(
                    "VirtioBlkBench.qd32",
                    1,
                    "\"workload\": \"READ_64K\", \"layout\": \"INDIRECT\"",
                    4400,
                    0))
            + "]";
    Path file = dir.resolve("slots.json");
    Files.writeString(file, json);
    Report report = new Report(BenchResult.read(file));

    DeviceRow direct =
        report.deviceRows().stream()
            .filter(d -> d.layout().equals("DIRECT"))
            .findFirst()
            .orElseThrow();
    DeviceRow indirect =
        report.deviceRows().stream()
            .filter(d -> d.layout().equals("INDIRECT"))
            .findFirst()
            .orElseThrow();
    assertThat(direct.copyNs()).isEqualTo(2000);
    assertThat(direct.fractionOfMemcpy()).isCloseTo(0.8, within(1e-9));
    assertThat(indirect.copyNs()).isEqualTo(4000);
    assertThat(report.markdown(List.of(), List.of()))
        .contains("| 65536 | 64 | 2000 |")
        .contains("| 65536 | 256 | 4000 |");
  }
}
