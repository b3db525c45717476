package dev.vdisk.memdisk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finds and runs the external tools the integration tests need; missing ones fail loudly. */
final class Tools {
  private Tools() {}

  /** The executable {@code name} on PATH or in /usr/sbin, /sbin; fails naming the package. */
  static Path require(String name, String debianPackage) {
    List<String> dirs =
        new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.add("/usr/sbin");
    dirs.add("/sbin");
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new AssertionError(
        name + " not found: install the Debian package " + debianPackage + " (bin/test does)");
  }

  /** Debian's MEMDISK binary from syslinux-common. */
  static Path memdisk() {
    Path p = Path.of("/usr/lib/syslinux/memdisk");
    if (Files.isRegularFile(p)) {
      return p;
    }
    throw new AssertionError(
        "/usr/lib/syslinux/memdisk not found: install the Debian package syslinux-common (bin/test"
            + " does)");
  }

  /** Runs a command to completion within 60 s; fails with its output when it fails. */
  static void run(Path workDir, String... command) throws IOException, InterruptedException {
    Path log = Files.createTempFile(workDir, "cmd", ".log");
    Process p =
        new ProcessBuilder(command)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " timed out: " + Files.readString(log));
    }
    if (p.exitValue() != 0) {
      throw new AssertionError(
          String.join(" ", command)
              + " exited with "
              + p.exitValue()
              + ": "
              + Files.readString(log, StandardCharsets.UTF_8));
    }
  }
}
