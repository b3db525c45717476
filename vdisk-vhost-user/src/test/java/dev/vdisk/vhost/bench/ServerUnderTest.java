package dev.vdisk.vhost.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A vhost-user-blk server process the benchmark measures: vdisk ({@link BenchServe} in a child JVM)
 * or qemu-storage-daemon. Both serve the same raw image file through the host page cache (vdisk's
 * FileDisk uses positional FileChannel I/O; QEMU's file driver is given {@code cache.direct=off},
 * its default, with its default thread-pool AIO), so the comparison is of the vhost-user +
 * virtio-blk layers, not of two I/O strategies. The process's CPU time (all threads, user + system)
 * is read from the kernel for the CPU-per-I/O figures.
 *
 * <p>The guest ITs use the vdisk flavour too, to SIGKILL a back end mid-I/O ({@link #kill}).
 */
public final class ServerUnderTest implements AutoCloseable {
  public static final String VDISK = "vdisk";
  public static final String QSD = "qemu-storage-daemon";

  private final String name;
  private final Process process;
  private final StringBuffer output = new StringBuffer();
  private final Thread pump;

  private ServerUnderTest(String name, Process process) {
    this.name = name;
    this.process = process;
    this.pump = new Thread(this::pump, name + "-output");
    pump.setDaemon(true);
    pump.start();
  }

  /** Starts server {@code name} ({@link #VDISK} or {@link #QSD}) and waits until it listens. */
  public static ServerUnderTest start(String name, Path socket, Path image, int queues)
      throws IOException {
    Files.deleteIfExists(socket);
    List<String> cmd =
        name.equals(VDISK)
            ? vdiskCommand(socket, image, queues)
            : qsdCommand(socket, image, queues);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    ServerUnderTest s = new ServerUnderTest(name, p);
    s.awaitReady(socket, Duration.ofSeconds(60), cmd);
    return s;
  }

  static List<String> vdiskCommand(Path socket, Path image, int queues) {
    List<String> c = new ArrayList<>();
    c.add(ProcessHandle.current().info().command().orElse("java"));
    // The child gets the harness's own JVM flags (Chronicle/JNA exports, heap), minus debuggers.
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent")) {
        c.add(a);
      }
    }
    c.addAll(
        List.of(
            "-cp",
            // Under surefire/failsafe java.class.path may be a manifest-only booter jar.
            System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
            BenchServe.class.getName(),
            socket.toString(),
            image.toString(),
            Integer.toString(queues)));
    return c;
  }

  static List<String> qsdCommand(Path socket, Path image, int queues) {
    return List.of(
        qsdBinary(),
        "--blockdev",
        "driver=file,node-name=file0,filename=" + image + ",cache.direct=off",
        "--blockdev",
        "driver=raw,node-name=disk0,file=file0",
        "--export",
        "type=vhost-user-blk,id=exp0,node-name=disk0,writable=on,num-queues="
            + queues
            + ",addr.type=unix,addr.path="
            + socket);
  }

  static String qsdBinary() {
    return onPath(
        "qemu-storage-daemon",
        "qemu-storage-daemon not found on PATH (install the Debian package qemu-system-common)");
  }

  static String onPath(String tool, String missing) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw new IllegalStateException(missing);
  }

  /**
   * vdisk says when it listens; qemu-storage-daemon creates its socket once the export exists (bind
   * and listen are back to back in QEMU's socket code), so its socket appearing is enough.
   */
  private void awaitReady(Path socket, Duration timeout, List<String> cmd) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean ready =
          name.equals(VDISK) ? output.indexOf(BenchServe.READY) >= 0 : Files.exists(socket);
      if (ready) {
        sleep(200);
        return;
      }
      if (!process.isAlive()) {
        sleep(200);
        throw new IllegalStateException(
            name + " exited with " + process.exitValue() + ": " + cmd + "\n" + output);
      }
      sleep(20);
    }
    close();
    throw new IllegalStateException(
        name + " not ready after " + timeout + ": " + cmd + "\n" + output);
  }

  String name() {
    return name;
  }

  /** CPU time the server process has used so far (user + system, all threads). */
  long cpuNanos() {
    return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
  }

  public String output() {
    return output.toString();
  }

  private void pump() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        output.append(line).append('\n');
      }
    } catch (IOException e) {
      output.append("[output read failed: ").append(e).append("]\n");
    }
  }

  /** SIGKILL, as a crash would: no clean-up of any kind in the server. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " survived SIGKILL for 15 s");
    }
  }

  /** vdisk stops when its stdin closes; qemu-storage-daemon on SIGTERM. Killed after 15 s. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    try {
      if (name.equals(VDISK)) {
        process.getOutputStream().close();
      } else {
        process.destroy();
      }
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      pump.join(2000);
    } catch (IOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
