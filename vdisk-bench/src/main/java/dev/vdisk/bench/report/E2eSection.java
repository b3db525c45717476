package dev.vdisk.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * The report's end-to-end section: vhost-user-blk against qemu-storage-daemon with fio in a Linux
 * guest, from the JSON file the vhost-user module's {@code bench/run-e2e.sh} writes ({@code
 * vdisk-bench/results/vhost-user-e2e.json}). That file is another module's output, so every field
 * is optional here: a missing one prints as a dash, an unreadable file as one line saying why,
 * never a failed report.
 */
final class E2eSection {
  static final String FILE_NAME = "vhost-user-e2e.json";

  /** The system under test; the other object-valued key of a job is the peer. */
  static final String VDISK = "vdisk";

  static final String DEFAULT_PEER = "qemu-storage-daemon";

  private E2eSection() {}

  /** The section for {@code file}, or an empty string when there is no such file. */
  static String render(Path file) {
    if (file == null || !Files.isRegularFile(file)) {
      return "";
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      return title() + "Could not read `" + file + "`: " + e.getMessage() + "\n\n";
    }
    return render(root, file.getFileName().toString());
  }

  static String render(JsonNode root, String source) {
    StringBuilder out = new StringBuilder(title());
    if (root == null || !root.isObject()) {
      return out.append("`").append(source).append("` is not a JSON object.\n\n").toString();
    }
    JsonNode jobs = root.path("jobs");
    String peer = peerName(jobs);
    out.append("From `")
        .append(source)
        .append("`")
        .append(text(root, "benchmark", " (", ")"))
        .append(": medians of ")
        .append(root.path("rounds").asText("?"))
        .append(" alternating rounds of ")
        .append(root.path("secondsPerJob").asText("?"))
        .append(" s")
        .append(" per job; ratio = vdisk / ")
        .append(peer)
        .append(" (an IOPS ratio above 1 and a CPU/IO ratio below 1 favour vdisk); ratio of")
        .append(" medians, and paired: the median of each round's own ratio, where both servers")
        .append(" ran back to back under the same load. The guest runs")
        .append(" under TCG on the shared machine, so absolute IOPS are bounded by emulation and")
        .append(" the load; compare the two servers within a row.\n\n");
    JsonNode machine = root.path("machine");
    if (machine.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = machine.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        out.append("- ").append(e.getKey()).append(": ").append(e.getValue().asText()).append('\n');
      }
    }
    out.append("- command: `")
        .append(root.path("command").asText("?"))
        .append("`, ")
        .append(root.path("started").asText("?"))
        .append(" to ")
        .append(root.path("finished").asText("?"))
        .append("\n\n");
    if (!jobs.isArray() || jobs.isEmpty()) {
      return out.append("No jobs in the file.\n\n").toString();
    }
    MarkdownTable t =
        new MarkdownTable(
            "job",
            ">vdisk IOPS",
            ">" + peer + " IOPS",
            ">IOPS ratio",
            ">vdisk MB/s",
            ">" + peer + " MB/s",
            ">vdisk clat µs",
            ">" + peer + " clat µs",
            ">vdisk CPU µs/IO",
            ">" + peer + " CPU µs/IO",
            ">CPU/IO ratio",
            ">paired IOPS ratio",
            ">paired CPU/IO ratio",
            ">rounds vdisk cheaper");
    for (JsonNode job : jobs) {
      JsonNode v = job.path(VDISK);
      JsonNode p = job.path(peer);
      t.row(
          job.path("label").asText(job.path("name").asText("?")),
          number(v, "medianIops", "%.0f"),
          number(p, "medianIops", "%.0f"),
          number(job, "iopsRatio", "%.2f"),
          number(v, "medianMBps", "%.1f"),
          number(p, "medianMBps", "%.1f"),
          number(v, "medianClatUs", "%.0f"),
          number(p, "medianClatUs", "%.0f"),
          number(v, "medianCpuUsPerIo", "%.1f"),
          number(p, "medianCpuUsPerIo", "%.1f"),
          number(job, "cpuPerIoRatio", "%.2f"),
          number(job, "pairedIopsRatio", "%.2f"),
          number(job, "pairedCpuPerIoRatio", "%.2f"),
          job.path("roundsVdiskCheaper").isNumber()
              ? job.path("roundsVdiskCheaper").asInt() + " of " + root.path("rounds").asText("?")
              : Format.NONE);
    }
    t.appendTo(out);
    return out.append('\n').toString();
  }

  private static String title() {
    return "## End to end: vhost-user-blk against qemu-storage-daemon (fio in a Linux guest)\n\n";
  }

  /** The first job's object-valued key other than vdisk and the sample list, if any. */
  private static String peerName(JsonNode jobs) {
    if (jobs.isArray() && !jobs.isEmpty()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = jobs.get(0).fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getValue().isObject() && !e.getKey().equals(VDISK)) {
          return e.getKey();
        }
      }
    }
    return DEFAULT_PEER;
  }

  private static String number(JsonNode node, String field, String format) {
    JsonNode n = node.path(field);
    return n.isNumber() ? String.format(Locale.ROOT, format, n.asDouble()) : Format.NONE;
  }

  private static String text(JsonNode node, String field, String before, String after) {
    JsonNode n = node.path(field);
    return n.isMissingNode() || n.isNull() ? "" : before + n.asText() + after;
  }
}
