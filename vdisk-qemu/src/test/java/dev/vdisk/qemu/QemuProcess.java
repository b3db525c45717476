package dev.vdisk.qemu;

import dev.vdisk.qemu.natives.Posix;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU started paused with a QMP socket and fd-backed RAM, ready for {@code attach-qemu}: what
 * every integration test here runs, and vdisk-cli's {@code attach-qemu} IT through this module's
 * test-jar. Serial output (and QEMU's own stderr) go to one log file that {@link #output()} returns
 * for failure messages. {@link #close()} kills QEMU if it still runs.
 */
public final class QemuProcess implements AutoCloseable {
  public static final String QEMU = "qemu-system-x86_64";

  final Path dir;
  public final Path qmp;
  final Path log;
  public final Process process;

  private QemuProcess(Path dir, Path qmp, Path log, Process process) {
    this.dir = dir;
    this.qmp = qmp;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts {@code qemu-system-x86_64 -accel tcg -S -qmp ...} with {@code ramMiB} of memfd RAM on
   * {@code machine} plus {@code extra} arguments; waits until the QMP socket accepts connections.
   */
  public static QemuProcess start(Path dir, String machine, int ramMiB, List<String> extra)
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
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    // The socket file appears at bind(), before QEMU listens: wait until a connect succeeds.
    while (!connectable(qmp)) {
      if (!p.isAlive()) {
        throw new AssertionError("QEMU exited with " + p.exitValue() + ":\n" + q.output());
      }
      if (System.nanoTime() > deadline) {
        q.close();
        throw new AssertionError("QEMU's QMP socket did not accept within 30 s:\n" + q.output());
      }
      Thread.sleep(20);
    }
    return q;
  }

  private static boolean connectable(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try {
      Posix.closeQuietly(Posix.connectUnix(socket.toString()));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Fails (never skips) when a tool the test needs is not installed. */
  static void requireTool(String tool) {
    if (!onPath(tool)) {
      throw new AssertionError(
          tool + " is not installed (Debian: apt-get install the package bin/test lists for it)");
    }
  }

  /** Fails (never skips) when {@code tool} is not installed, naming the package that has it. */
  public static void requireTool(String tool, String debianPackage) {
    if (!onPath(tool)) {
      throw new AssertionError(tool + " is not installed (Debian package " + debianPackage + ")");
    }
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
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
  public String output() {
    return read(log);
  }

  /** A log file's text for a failure message; a file that cannot be read says why instead. */
  public static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
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
