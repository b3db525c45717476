package dev.vdisk.remote.testing;

import static org.assertj.core.api.Assertions.fail;

import dev.vdisk.remote.io.Endpoint;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real peer process (nbdkit, qemu-nbd, nbd-server, vblade ...) started for one test: output goes
 * to a log file that {@link #log()} returns for failure messages, and close() kills it.
 */
public final class Peer implements AutoCloseable {
  private final Process process;
  private final Path logFile;
  private final String name;
  private final Endpoint endpoint;

  private Peer(String name, Process process, Path logFile, Endpoint endpoint) {
    this.name = name;
    this.process = process;
    this.logFile = logFile;
    this.endpoint = endpoint;
  }

  /** Fails the test (never skips) when a tool is missing, naming the Debian package. */
  public static String requireTool(String tool, String debianPackage) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      for (String d : List.of(dir, "/usr/sbin", "/sbin")) {
        Path p = Path.of(d, tool);
        if (Files.isExecutable(p)) {
          return p.toString();
        }
      }
    }
    return fail(
        tool
            + " is not installed; the test needs the Debian package "
            + debianPackage
            + " (apt-get install "
            + debianPackage
            + ")");
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts a process; it is ready once {@code ready} returns true (polled for up to 20 s). */
  public static Peer start(String name, List<String> command, Endpoint endpoint, Path dir)
      throws IOException, InterruptedException {
    return start(name, command, endpoint, dir, true);
  }

  /**
   * As {@link #start(String, List, Endpoint, Path)}; with {@code probe} false readiness is seen
   * without connecting (for servers such as {@code nbd-server -d} that serve only one connection).
   */
  public static Peer start(
      String name, List<String> command, Endpoint endpoint, Path dir, boolean probe)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, name, ".log");
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process p = pb.start();
    Peer peer = new Peer(name, p, log, endpoint);
    if (endpoint != null) {
      peer.awaitListening(Duration.ofSeconds(20), probe);
    }
    return peer;
  }

  private void awaitListening(Duration max, boolean probe)
      throws InterruptedException, IOException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail(name + " exited with " + process.exitValue() + " before listening:\n" + log());
      }
      if (!probe) {
        if (passiveListening()) {
          return;
        }
        Thread.sleep(50);
        continue;
      }
      try (SocketChannel ch = endpoint.connect(Duration.ofSeconds(1))) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    close();
    fail(name + " did not listen on " + endpoint + " within " + max + ":\n" + log());
  }

  /** A listening socket seen in /proc/net (TCP) or the socket file (Unix), without connecting. */
  private boolean passiveListening() throws IOException {
    if (endpoint.isUnix()) {
      return Files.exists(endpoint.unixPath());
    }
    String port = String.format(":%04X ", endpoint.port());
    for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (String line : Files.readAllLines(Path.of(f))) {
        String[] cols = line.trim().split("\\s+");
        if (cols.length > 3 && (cols[1] + " ").endsWith(port) && cols[3].equals("0A")) {
          return true;
        }
      }
    }
    return false;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  public Process process() {
    return process;
  }

  public long pid() {
    return process.pid();
  }

  public String log() {
    try {
      return Files.readString(logFile);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Signals the process (e.g. STOP / CONT) through kill(1). */
  public void signal(String sig) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start().waitFor();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs a command to completion (bounded) and returns its output; non-zero exit fails. */
  public static String run(Duration max, String... command)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    Path out = Files.createTempFile("vdisk-run", ".out");
    try {
      pb.redirectOutput(out.toFile());
      Process p = pb.start();
      if (!p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor();
        fail(
            String.join(" ", command)
                + " did not finish within "
                + max
                + ":\n"
                + Files.readString(out));
      }
      String text = Files.readString(out);
      if (p.exitValue() != 0) {
        fail(String.join(" ", command) + " exited with " + p.exitValue() + ":\n" + text);
      }
      return text;
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
