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
  void chartsAreWrittenHeadless() throws IOException {
    List<String> charts = Charts.write(new Report(results()), dir);

    assertThat(charts).containsExactly(Charts.NS_PER_REQUEST, Charts.ABOVE_COPY, Charts.FRACTION);
    for (String c : charts) {
      byte[] png = Files.readAllBytes(dir.resolve(c));
      assertThat(png).startsWith(0x89, 'P', 'N', 'G');
    }
  }
}
