package dev.vdisk.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The machine a report came from: CPU model, cores, OS, load. Linux sources, best effort. */
final class Machine {
  private Machine() {}

  static List<String> describe() {
    return List.of(
        "CPU: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores",
        "OS: "
            + System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " "
            + System.getProperty("os.arch"),
        "JDK (runner): "
            + System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.runtime.version"));
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch") + " (model unknown)";
  }

  /** The three load averages, or "unknown". */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " / " + f[1] + " / " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
