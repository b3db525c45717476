package dev.vdisk.vhost.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A real Linux guest in {@code qemu-system-x86_64}, booted from the host's kernel and an {@link
 * Initramfs}, with its serial console captured. Guest RAM is a shared memfd (what vhost-user
 * needs); disks are attached as {@code vhost-user-blk-pci-non-transitional} (1AF4:1042) devices on
 * Unix sockets. Every run has a hard timeout after which QEMU is killed; the console text is always
 * available for failure messages.
 *
 * <pre>{@code
 * try (LinuxGuest g = LinuxGuest.builder()
 *     .initramfs(Initramfs.withWorkload(Initramfs.standard(), script, dir.resolve("i.cpio")))
 *     .vhostUserBlk(socket, 2)
 *     .start()) {
 *   LinuxGuest.Result r = g.awaitExit(Duration.ofMinutes(3));
 *   assertThat(r.exitCode()).as(r.console()).isZero();
 * }
 * }</pre>
 *
 * Acceleration is TCG (KVM hangs on the CI machines); set {@code VDISK_QEMU_ACCEL=kvm} to try KVM.
 */
public final class LinuxGuest implements AutoCloseable {
  private final Process process;
  private final StringBuffer console = new StringBuffer();
  private final Thread pump;
  private final OutputStream stdin;
  private final List<String> command;

  private LinuxGuest(Process process, List<String> command) {
    this.process = process;
    this.command = command;
    this.stdin = process.getOutputStream();
    this.pump = new Thread(this::pump, "guest-console");
    pump.setDaemon(true);
    pump.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The QEMU command line the builder assembles. */
  public static final class Builder {
    private Path kernel;
    private Path initramfs;
    private int memoryMiB = 256;
    private int cpus = 1;
    private final List<String> disks = new ArrayList<>();
    private final List<String> extra = new ArrayList<>();
    private String append = "";
    private Path consoleLog;
    private int diskCount;

    public Builder kernel(Path value) {
      this.kernel = value;
      return this;
    }

    public Builder initramfs(Path value) {
      this.initramfs = value;
      return this;
    }

    public Builder memoryMiB(int value) {
      this.memoryMiB = value;
      return this;
    }

    public Builder cpus(int value) {
      this.cpus = value;
      return this;
    }

    /**
     * A vhost-user-blk-pci-non-transitional disk (the first is /dev/vda, the next /dev/vdb, ...).
     */
    public Builder vhostUserBlk(Path socket, int queues) {
      return vhostUserBlk(socket, queues, 0);
    }

    /**
     * Like {@link #vhostUserBlk(Path, int)}; {@code reconnectSeconds} > 0 makes QEMU reconnect to a
     * back end that went away ({@code -chardev socket,...,reconnect=N}).
     */
    public Builder vhostUserBlk(Path socket, int queues, int reconnectSeconds) {
      String id = "vub" + diskCount++;
      disks.add("-chardev");
      disks.add(
          "socket,id="
              + id
              + ",path="
              + socket
              + (reconnectSeconds > 0 ? ",reconnect=" + reconnectSeconds : ""));
      disks.add("-device");
      disks.add("vhost-user-blk-pci-non-transitional,chardev=" + id + ",num-queues=" + queues);
      return this;
    }

    /** Extra kernel command-line text. */
    public Builder append(String value) {
      this.append = value;
      return this;
    }

    /** Extra QEMU arguments. */
    public Builder qemuArgs(String... args) {
      extra.addAll(List.of(args));
      return this;
    }

    /** Also write the console to this file as it arrives. */
    public Builder consoleLog(Path value) {
      this.consoleLog = value;
      return this;
    }

    public List<String> command() {
      Objects.requireNonNull(initramfs, "initramfs");
      Path k = kernel != null ? kernel : Initramfs.kernel();
      List<String> c = new ArrayList<>();
      c.add(qemuBinary());
      String accel = System.getenv().getOrDefault("VDISK_QEMU_ACCEL", "tcg");
      c.addAll(List.of("-accel", accel));
      c.addAll(List.of("-m", Integer.toString(memoryMiB), "-smp", Integer.toString(cpus)));
      c.addAll(List.of("-nographic", "-no-reboot", "-nic", "none"));
      c.addAll(List.of("-kernel", k.toString(), "-initrd", initramfs.toString()));
      c.addAll(
          List.of(
              "-append",
              ("console=ttyS0 quiet panic=-1 mitigations=off rdinit=/init " + append).trim()));
      c.addAll(
          List.of(
              "-object",
              "memory-backend-memfd,id=mem,size=" + memoryMiB + "M,share=on",
              "-numa",
              "node,memdev=mem"));
      c.addAll(disks);
      c.addAll(extra);
      return c;
    }

    public LinuxGuest start() {
      List<String> c = command();
      try {
        ProcessBuilder pb = new ProcessBuilder(c).redirectErrorStream(true);
        LinuxGuest g = new LinuxGuest(pb.start(), c);
        if (consoleLog != null) {
          g.consoleLog = consoleLog;
        }
        return g;
      } catch (IOException e) {
        throw new AssertionError("cannot start " + c.get(0) + ": " + e.getMessage(), e);
      }
    }
  }

  private volatile Path consoleLog;

  /** qemu-system-x86_64 from PATH; fails (never skips) when the package is missing. */
  public static String qemuBinary() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, "qemu-system-x86_64");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw new AssertionError(
        "qemu-system-x86_64 not found on PATH (install the Debian package qemu-system-x86)");
  }

  private void pump() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      char[] buf = new char[4096];
      int n;
      while ((n = r.read(buf)) > 0) {
        // The serial console ends lines with CR LF; keep plain LF.
        String s = new String(buf, 0, n).replace("\r", "");
        console.append(s);
        Path log = consoleLog;
        if (log != null) {
          Files.writeString(
              log,
              s,
              StandardCharsets.UTF_8,
              java.nio.file.StandardOpenOption.CREATE,
              java.nio.file.StandardOpenOption.APPEND);
        }
      }
    } catch (IOException e) {
      console.append("\n[console read failed: ").append(e).append("]\n");
    }
  }

  /** Everything the guest (and QEMU) printed so far. */
  public String console() {
    return console.toString();
  }

  public List<String> command() {
    return command;
  }

  /** Waits until the console contains {@code text}; false on timeout or QEMU exit. */
  public boolean awaitConsole(String text, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (console.indexOf(text) >= 0) {
        return true;
      }
      if (!process.isAlive()) {
        sleep(100); // let the pump drain the last output
        return console.indexOf(text) >= 0;
      }
      sleep(50);
    }
    return false;
  }

  /** Types a line on the guest's serial console (the workload can {@code read} it). */
  public void sendLine(String line) {
    try {
      stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What a finished run produced. */
  public record Result(
      boolean timedOut, int qemuExit, int workloadExit, String workloadOutput, String console) {

    /**
     * {@code key value} pairs from workload lines of the form {@code RESULT key value} (the value
     * is the rest of the line).
     */
    public Map<String, String> results() {
      Map<String, String> m = new LinkedHashMap<>();
      for (String line : workloadOutput.split("\n")) {
        String l = line.trim();
        if (l.startsWith("RESULT ")) {
          String[] p = l.substring(7).split(" ", 2);
          m.put(p[0], p.length > 1 ? p[1] : "");
        }
      }
      return m;
    }

    /** A failure message with the whole console. */
    public String describe() {
      return "guest "
          + (timedOut ? "timed out" : "exited " + qemuExit)
          + ", workload rc "
          + workloadExit
          + "; console:\n"
          + console;
    }
  }

  /**
   * Waits for QEMU to exit (the guest powers off after its workload), killing it after {@code
   * timeout}. The workload's exit status is -1 when it never finished.
   */
  public Result awaitExit(Duration timeout) {
    boolean exited;
    try {
      exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exited = false;
    }
    if (!exited) {
      destroy();
    }
    try {
      pump.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String c = console.toString();
    int begin = c.indexOf(Initramfs.BEGIN);
    int end = c.indexOf(Initramfs.END, Math.max(begin, 0));
    String output = "";
    int rc = -1;
    if (begin >= 0) {
      int from = c.indexOf('\n', begin) + 1;
      output = end >= 0 ? c.substring(from, end) : c.substring(from);
      if (end >= 0) {
        String tail = c.substring(end + Initramfs.END.length());
        int nl = tail.indexOf('\n');
        String status = (nl >= 0 ? tail.substring(0, nl) : tail).trim();
        if (status.startsWith("rc=")) {
          try {
            rc = Integer.parseInt(status.substring(3).trim());
          } catch (NumberFormatException e) {
            rc = -1;
          }
        }
      }
    }
    return new Result(!exited, exited ? process.exitValue() : -1, rc, output, c);
  }

  private void destroy() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      destroy();
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
