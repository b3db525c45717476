package dev.vdisk.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU started paused with a QMP socket and fd-backed RAM, ready for {@code attach-qemu}: what
 * every integration test here runs. Serial output (and QEMU's own stderr) go to one log file that
 * {@link #output()} returns for failure messages. {@link #close()} kills QEMU if it still runs.
 */
final class QemuProcess implements AutoCloseable {
  static final String QEMU = "qemu-system-x86_64";

  final Path dir;
  final Path qmp;
  final Path log;
  final Process process;

  private QemuProcess(Path dir, Path qmp, Path log, Process process) {
    this.dir = dir;
    this.qmp = qmp;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts {@code qemu-system-x86_64 -accel tcg -S -qmp ...} with {@code ramMiB} of memfd RAM on
   * {@code machine} plus {@code extra} arguments; waits until the QMP socket exists.
   */
  static QemuProcess start(Path dir, String machine, int ramMiB, List<String> extra)
      throws IOException, InterruptedException {
    requireTool(QEMU);
    Path qmp = dir.resolve("qmp.sock");
    Path log = dir.resolve("qemu.log");
    List<String> cmd = new ArrayList<>();
    cmd.add(QEMU);
    cmd.addAll(
        List.of(
            "-accel",
            "tcg",
            "-machine",
            machine + ",memory-backend=mem",
            "-object",
            "memory-backend-memfd,id=mem,size=" + ramMiB + "M",
            "-m",
            ramMiB + "M",
            "-display",
            "none",
            "-nodefaults",
            "-no-user-config",
            "-serial",
            "stdio",
            "-S",
            "-qmp",
            "unix:" + qmp + ",server=on,wait=off"));
    cmd.addAll(extra);
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    QemuProcess q = new QemuProcess(dir, qmp, log, p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!Files.exists(qmp)) {
      if (!p.isAlive()) {
        throw new AssertionError("QEMU exited with " + p.exitValue() + ":\n" + q.output());
      }
      if (System.nanoTime() > deadline) {
        q.close();
        throw new AssertionError("QEMU's QMP socket did not appear in 20 s:\n" + q.output());
      }
      Thread.sleep(20);
    }
    return q;
  }

  /** Fails (never skips) when a tool the test needs is not installed. */
  static void requireTool(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return;
      }
    }
    throw new AssertionError(
        tool + " is not installed (Debian: apt-get install the package bin/test lists for it)");
  }

  static void requireFile(Path file, String debianPackage) {
    if (!Files.isReadable(file)) {
      throw new AssertionError(file + " is missing (Debian package " + debianPackage + ")");
    }
  }

  /** Waits for QEMU to exit; returns its status, or fails with its output after the timeout. */
  int waitFor(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError(
          "QEMU did not finish within " + seconds + " s; the guest printed:\n" + output());
    }
    return process.exitValue();
  }

  /** Everything QEMU and the guest's serial port printed so far. */
  String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
