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
 * @param jdk JDK version and VM name that produced it
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
    String jdk) {

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
    JsonNode alloc = n.path("secondaryMetrics").path("gc.alloc.rate.norm");
    return new BenchResult(
        cls,
        full.substring(dot + 1),
        Collections.unmodifiableMap(params),
        n.path("threads").asInt(1),
        number(primary.path("score")),
        number(primary.path("scoreError")),
        primary.path("scoreUnit").asText(),
        alloc.isMissingNode() ? Double.NaN : number(alloc.path("score")),
        (n.path("jdkVersion").asText("?") + " " + n.path("vmName").asText("")).trim());
  }

  /** JMH writes "NaN" as a string when a figure is undefined. */
  private static double number(JsonNode n) {
    return n.isNumber() ? n.asDouble() : Double.NaN;
  }
}
