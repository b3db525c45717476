package dev.vdisk.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One row of JMH's JSON output, reduced to what the report needs.
 *
 * @param benchmarkClass simple name of the benchmark class ({@code MemcpyBench})
 * @param method benchmark method ({@code diskToBuffers})
 * @param params JMH parameters of this row
 * @param threads threads that ran it (an average-time score is per thread)
 * @param score primary score
 * @param error 99.9% confidence half-width (NaN with too few iterations)
 * @param unit unit of the primary score ({@code ns/op})
 * @param allocPerOp {@code gc.alloc.rate.norm} in bytes per operation, NaN without {@code -prof gc}
 * @param cpuScore {@code cpu.time.norm} of {@code CpuTimeProfiler}: the score scaled by the share
 *     of a core the benchmark threads had, NaN without that profiler
 * @param cpuShare {@code cpu.util}: that share (1.0 on an idle machine), NaN without the profiler
 * @param jdk JDK version and VM name that produced it
 * @param forks JMH forks the score comes from (0 when the file does not say)
 */
public record BenchResult(
    String benchmarkClass,
    String method,
    Map<String, String> params,
    int threads,
    double score,
    double error,
    String unit,
    double allocPerOp,
    double cpuScore,
    double cpuShare,
    String jdk,
    int forks) {

  /**
   * The score the report computes with: CPU time per operation when it was measured (robust on a
   * shared machine, where other processes take the CPU away), else the wall-clock score.
   */
  public double effectiveScore() {
    return Double.isNaN(cpuScore) ? score : cpuScore;
  }

  public String param(String name) {
    return params.get(name);
  }

  public int intParam(String name, int fallback) {
    String v = params.get(name);
    return v == null ? fallback : Integer.parseInt(v);
  }

  /** Reads a JMH JSON result file ({@code -rf json}). */
  public static List<BenchResult> read(Path json) throws IOException {
    JsonNode root = new ObjectMapper().readTree(json.toFile());
    if (root == null || !root.isArray()) {
      throw new IOException(json + " is not a JMH JSON result file (expected a JSON array)");
    }
    List<BenchResult> results = new ArrayList<>();
    for (JsonNode n : root) {
      results.add(of(n));
    }
    return results;
  }

  private static BenchResult of(JsonNode n) {
    String full = n.path("benchmark").asText();
    int dot = full.lastIndexOf('.');
    String cls = full.substring(0, Math.max(dot, 0));
    cls = cls.substring(cls.lastIndexOf('.') + 1);
    Map<String, String> params = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = n.path("params").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      params.put(e.getKey(), e.getValue().asText());
    }
    JsonNode primary = n.path("primaryMetric");
    JsonNode secondary = n.path("secondaryMetrics");
    return new BenchResult(
        cls,
        full.substring(dot + 1),
        Collections.unmodifiableMap(params),
        n.path("threads").asInt(1),
        number(primary.path("score")),
        number(primary.path("scoreError")),
        primary.path("scoreUnit").asText(),
        secondary(secondary, "gc.alloc.rate.norm"),
        secondary(secondary, "cpu.time.norm"),
        secondary(secondary, "cpu.util"),
        (n.path("jdkVersion").asText("?") + " " + n.path("vmName").asText("")).trim(),
        n.path("forks").asInt(0));
  }

  private static double secondary(JsonNode secondary, String name) {
    JsonNode m = secondary.path(name);
    return m.isMissingNode() ? Double.NaN : number(m.path("score"));
  }

  /** JMH writes "NaN" as a string when a figure is undefined. */
  private static double number(JsonNode n) {
    return n.isNumber() ? n.asDouble() : Double.NaN;
  }
}
