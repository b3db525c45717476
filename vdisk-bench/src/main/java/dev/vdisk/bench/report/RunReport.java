package dev.vdisk.bench.report;

import dev.vdisk.bench.CpuTimeProfiler;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs a benchmark preset and writes the report: {@code results.json} (JMH JSON), {@code report.md}
 * and PNG charts in the output directory, and the Markdown on stdout (JMH's own log goes to {@code
 * jmh-*.log} files there; progress to stderr).
 *
 * <pre>
 * java -cp benchmarks.jar dev.vdisk.bench.report.RunReport [--preset short|targets|full] [--out DIR]
 * java -cp benchmarks.jar dev.vdisk.bench.report.RunReport --render results.json [--out DIR]
 * </pre>
 */
public final class RunReport {
  private RunReport() {}

  public static void main(String[] args) throws Exception {
    String preset = "short";
    Path out = Paths.get("target", "report");
    Path render = null;
    Path e2e = null;
    List<String> notes = new ArrayList<>();
    boolean smoke = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--preset" -> preset = value(args, ++i, "--preset");
        case "--out" -> out = Paths.get(value(args, ++i, "--out"));
        case "--render" -> render = Paths.get(value(args, ++i, "--render"));
        case "--e2e" -> e2e = Paths.get(value(args, ++i, "--e2e"));
        case "--note" -> notes.add(value(args, ++i, "--note"));
        case "--smoke" -> smoke = true;
        case "-h", "--help" -> {
          System.out.println(usage());
          return;
        }
        default -> {
          System.err.println("run-report: unknown argument '" + args[i] + "'\n" + usage());
          System.exit(2);
        }
      }
    }
    Files.createDirectories(out);
    List<String> header = new ArrayList<>(Machine.describe());
    Path json;
    if (render == null) {
      Preset p = Preset.named(preset);
      if (smoke) {
        p = p.smoke();
      }
      String loadBefore = Machine.loadAverage();
      json = run(p, out);
      header.add(p.describe());
      header.add(
          "load average (1/5/15 min) before: " + loadBefore + ", after: " + Machine.loadAverage());
    } else {
      json = render;
      header.add("rendered from " + render);
    }
    header.addAll(notes);
    List<BenchResult> results = BenchResult.read(json);
    Report report = new Report(results);
    if (!results.isEmpty()) {
      header.add(0, "JDK (benchmark forks): " + results.get(0).jdk());
    }
    header.add(
        0, "date: " + ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE));
    List<String> charts = Charts.write(report, out);
    if (e2e == null) {
      e2e = defaultE2e();
    }
    String markdown = report.markdown(header, charts, E2eSection.render(e2e));
    Files.writeString(out.resolve("report.md"), markdown, StandardCharsets.UTF_8);
    PrintStream stdout = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    stdout.print(markdown);
    System.err.println(
        "run-report: wrote " + out.resolve("report.md") + ", " + json + " and " + charts);
  }

  private static Path run(Preset preset, Path out) throws RunnerException, IOException {
    List<RunResult> all = new ArrayList<>();
    int n = 0;
    for (Preset.Step step : preset.steps()) {
      n++;
      Path log = out.resolve("jmh-" + n + ".log");
      System.err.printf(
          "run-report: step %d/%d %s %s (log %s)%n",
          n, preset.steps().size(), step.include(), describe(step.params()), log);
      ChainedOptionsBuilder b =
          new OptionsBuilder()
              .include(step.include())
              .forks(preset.forks())
              .addProfiler(GCProfiler.class)
              .addProfiler(CpuTimeProfiler.class)
              .shouldFailOnError(false)
              .output(log.toString());
      TimeValue time = TimeValue.milliseconds(preset.iterationMillis());
      if (preset.warmupIterations() != null) {
        b.warmupIterations(preset.warmupIterations()).warmupTime(time);
      }
      if (preset.measurementIterations() != null) {
        b.measurementIterations(preset.measurementIterations()).measurementTime(time);
      }
      step.params().forEach(b::param);
      try {
        Collection<RunResult> r = new Runner(b.build()).run();
        all.addAll(r);
        System.err.printf("run-report:   %d results%n", r.size());
      } catch (NoBenchmarksException e) {
        // A benchmark whose module has not landed yet is not compiled in: say so, go on.
        System.err.println("run-report:   no benchmark matches, skipped");
      }
    }
    Path json = out.resolve("results.json");
    ResultFormatFactory.getInstance(ResultFormatType.JSON, json.toString()).writeOut(all);
    return json;
  }

  /** The vhost-user end-to-end results, run from the repository root or from vdisk-bench. */
  private static Path defaultE2e() {
    Path fromRoot = Paths.get("vdisk-bench", "results", E2eSection.FILE_NAME);
    return Files.isRegularFile(fromRoot) ? fromRoot : Paths.get("results", E2eSection.FILE_NAME);
  }

  private static String describe(Map<String, String[]> params) {
    StringBuilder s = new StringBuilder();
    params.forEach((k, v) -> s.append(k).append('=').append(String.join(",", v)).append(' '));
    return s.toString().trim();
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value\n" + usage());
    }
    return args[i];
  }

  private static String usage() {
    return """
        usage: RunReport [--preset short|targets|full] [--out DIR]    run a preset, then write the report
               RunReport --smoke [--out DIR]                  the short preset's steps at 1 x 0.2 s
                                                              (checks the pipeline; numbers are noise)
               RunReport --render results.json [--out DIR]    report on an existing JMH JSON file
               --note TEXT  one more header line (the script puts its command line there)
               --e2e FILE   vhost-user end-to-end JSON to include as its own section (default:
                            vdisk-bench/results/vhost-user-e2e.json when it exists)""";
  }
}
