package dev.vdisk.vhost.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds a Linux initramfs (cpio "newc") from the host's own Debian packages: busybox-static,
 * kernel modules of the installed linux-image (resolved with their dependencies from {@code
 * modules.dep}, skipping built-ins), and dynamically linked tools with the libraries {@code ldd}
 * names. The archive is written in Java, so no cpio tool or root is needed.
 *
 * <p>{@link #standard} is the one most tests share (virtio-pci, virtio-blk, ext4; mkfs.ext4,
 * e2fsck, blkdiscard); it is built once per JVM and cached. A test adds its workload with {@link
 * #withWorkload}, which appends a second small archive holding {@code /workload.sh} (the kernel
 * unpacks concatenated archives in order). The standard {@code /init} mounts proc/sys/devtmpfs,
 * loads the modules, waits for {@code /dev/vda}, prints {@value #BEGIN}, runs the workload, prints
 * {@value #END}{@code rc=<status>} and powers off.
 *
 * <p>Missing host packages make the build fail with the package to install, never skip.
 */
public final class Initramfs {
  public static final String BEGIN = "VDISK-WORKLOAD-BEGIN";
  public static final String END = "VDISK-WORKLOAD-END ";

  /** The standard module set: what a virtio-blk guest with ext4 needs. */
  public static final List<String> STANDARD_MODULES =
      List.of(
          "virtio_ring",
          "virtio",
          "virtio_pci_modern_dev",
          "virtio_pci_legacy_dev",
          "virtio_pci",
          "virtio_blk",
          "crc32c_generic",
          "ext4");

  /** Tools the standard workloads use beyond busybox. */
  public static final List<String> STANDARD_TOOLS =
      List.of("/sbin/mke2fs", "/sbin/e2fsck", "/sbin/blkdiscard");

  private static final Object LOCK = new Object();
  private static Path standardCache;

  private final CpioWriter cpio = new CpioWriter();
  private final Set<String> dirs = new TreeSet<>();
  private final Set<String> files = new LinkedHashSet<>();

  private Initramfs() {}

  public static Initramfs create() {
    Initramfs i = new Initramfs();
    i.dir("/dev");
    i.cpio.node("/dev/console", 0020600, 5, 1);
    for (String d :
        List.of(
            "/proc",
            "/sys",
            "/tmp",
            "/mnt",
            "/bin",
            "/sbin",
            "/usr/bin",
            "/usr/sbin",
            "/etc",
            "/lib",
            "/lib64",
            "/root")) {
      i.dir(d);
    }
    return i;
  }

  // ---- kernel ----

  /** The kernel image the guest boots: the newest {@code /boot/vmlinuz-*} with modules. */
  public static Path kernel() {
    return Path.of("/boot/vmlinuz-" + kernelRelease());
  }

  /** Release of the newest installed kernel that has both a vmlinuz and a modules directory. */
  public static String kernelRelease() {
    String env = System.getenv("VDISK_GUEST_KERNEL_RELEASE");
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    try (Stream<Path> s = Files.list(Path.of("/boot"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("vmlinuz-"))
          .map(n -> n.substring("vmlinuz-".length()))
          .filter(r -> Files.isDirectory(Path.of("/lib/modules", r)))
          .filter(r -> Files.isReadable(Path.of("/boot/vmlinuz-" + r)))
          .max(Initramfs::compareReleases)
          .orElseThrow(
              () ->
                  new AssertionError(
                      "no guest kernel: /boot/vmlinuz-* with /lib/modules/<release> not found"
                          + " (install the Debian package linux-image-amd64)"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int compareReleases(String a, String b) {
    String[] x = a.split("[.-]");
    String[] y = b.split("[.-]");
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      int c;
      try {
        c = Integer.compare(Integer.parseInt(x[i]), Integer.parseInt(y[i]));
      } catch (NumberFormatException e) {
        c = x[i].compareTo(y[i]);
      }
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }

  /**
   * Adds kernel modules (and what they depend on) that are not built into the kernel, and writes
   * {@code /modules.order}: the load order, dependencies first.
   */
  public Initramfs modules(List<String> names) {
    String release = kernelRelease();
    Path base = Path.of("/lib/modules", release);
    Map<String, String> pathByName = new HashMap<>();
    Map<String, List<String>> deps = new HashMap<>();
    Set<String> builtin = new LinkedHashSet<>();
    try {
      for (String line : Files.readAllLines(base.resolve("modules.dep"))) {
        int colon = line.indexOf(':');
        if (colon < 0) {
          continue;
        }
        String path = line.substring(0, colon).trim();
        pathByName.put(moduleName(path), path);
        List<String> d = new ArrayList<>();
        for (String p : line.substring(colon + 1).trim().split("\\s+")) {
          if (!p.isEmpty()) {
            d.add(moduleName(p));
          }
        }
        deps.put(moduleName(path), d);
      }
      Path builtinFile = base.resolve("modules.builtin");
      if (Files.exists(builtinFile)) {
        for (String line : Files.readAllLines(builtinFile)) {
          builtin.add(moduleName(line.trim()));
        }
      }
    } catch (IOException e) {
      throw new AssertionError(
          "cannot read " + base + "/modules.dep (install linux-image-amd64): " + e, e);
    }
    List<String> order = new ArrayList<>();
    for (String n : names) {
      String name = n.replace('-', '_');
      if (builtin.contains(name)) {
        continue;
      }
      if (!pathByName.containsKey(name)) {
        throw new AssertionError(
            "kernel " + release + " has no module " + n + " (neither .ko nor built in)");
      }
      visit(name, pathByName, deps, order, new LinkedHashSet<>());
    }
    StringBuilder list = new StringBuilder();
    for (String name : order) {
      Path ko = base.resolve(pathByName.get(name));
      file("/lib/modules/" + name + ".ko", moduleBytes(ko), 0100644);
      list.append(name).append('\n');
    }
    file("/modules.order", list.toString().getBytes(StandardCharsets.UTF_8), 0100644);
    return this;
  }

  private static void visit(
      String name,
      Map<String, String> paths,
      Map<String, List<String>> deps,
      List<String> order,
      Set<String> stack) {
    if (order.contains(name) || !paths.containsKey(name) || !stack.add(name)) {
      return;
    }
    for (String d : deps.getOrDefault(name, List.of())) {
      visit(d, paths, deps, order, stack);
    }
    order.add(name);
  }

  private static String moduleName(String path) {
    String f = path.substring(path.lastIndexOf('/') + 1);
    int ko = f.indexOf(".ko");
    return (ko >= 0 ? f.substring(0, ko) : f).replace('-', '_');
  }

  /** Module file contents; compressed modules are unpacked with the host's xz or zstd. */
  private static byte[] moduleBytes(Path ko) {
    String n = ko.getFileName().toString();
    try {
      if (n.endsWith(".ko")) {
        return Files.readAllBytes(ko);
      }
      String tool = n.endsWith(".xz") ? "xz" : n.endsWith(".zst") ? "zstd" : null;
      if (tool == null) {
        throw new AssertionError("unknown module compression: " + ko);
      }
      return run(List.of(tool, "-dc", ko.toString()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- files ----

  public Initramfs dir(String path) {
    String parent = path.substring(0, Math.max(path.lastIndexOf('/'), 0));
    if (!parent.isEmpty() && !dirs.contains(parent)) {
      dir(parent);
    }
    if (dirs.add(path)) {
      cpio.node(path, 0040755, 0, 0);
    }
    return this;
  }

  public Initramfs file(String path, byte[] content, int mode) {
    String parent = path.substring(0, path.lastIndexOf('/'));
    if (!parent.isEmpty()) {
      dir(parent);
    }
    if (files.add(path)) {
      cpio.file(path, content, mode);
    }
    return this;
  }

  public Initramfs text(String path, String content, int mode) {
    return file(path, content.getBytes(StandardCharsets.UTF_8), mode);
  }

  public Initramfs symlink(String path, String target) {
    if (files.add(path)) {
      cpio.symlink(path, target);
    }
    return this;
  }

  /** busybox-static as /bin/busybox; /init installs its applet links at boot. */
  public Initramfs busybox() {
    Path bb = Path.of("/bin/busybox");
    if (!Files.isExecutable(bb)) {
      throw new AssertionError("/bin/busybox missing (install the Debian package busybox-static)");
    }
    try {
      file("/bin/busybox", Files.readAllBytes(bb), 0100755);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    symlink("/bin/sh", "busybox");
    return this;
  }

  /**
   * Copies a dynamically linked host program and every shared library {@code ldd} lists for it,
   * each to the same path in the image.
   */
  public Initramfs program(String hostPath) {
    Path p = Path.of(hostPath);
    if (!Files.isExecutable(p)) {
      throw new AssertionError(
          hostPath
              + " missing (install the Debian package that provides it: "
              + packageOf(hostPath)
              + ")");
    }
    try {
      file(hostPath, Files.readAllBytes(p.toRealPath()), 0100755);
      String out = new String(run(List.of("ldd", hostPath)), StandardCharsets.UTF_8);
      for (String line : out.split("\n")) {
        String l = line.trim();
        String lib = null;
        int arrow = l.indexOf("=>");
        if (arrow >= 0) {
          String rest = l.substring(arrow + 2).trim();
          int sp = rest.indexOf(' ');
          lib = sp > 0 ? rest.substring(0, sp) : rest;
        } else if (l.startsWith("/")) {
          lib = l.substring(0, l.indexOf(' ') > 0 ? l.indexOf(' ') : l.length());
        }
        if (lib != null && lib.startsWith("/")) {
          file(lib, Files.readAllBytes(Path.of(lib).toRealPath()), 0100755);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  private static String packageOf(String path) {
    if (path.contains("e2fsck") || path.contains("mke2fs")) {
      return "e2fsprogs";
    }
    if (path.contains("blkdiscard")) {
      return "util-linux";
    }
    if (path.contains("fio")) {
      return "fio";
    }
    return "see dpkg -S " + path;
  }

  /** The standard /init (see the class comment). */
  public Initramfs standardInit() {
    return text(
        "/init",
        """
        #!/bin/sh
        /bin/busybox --install -s /bin
        export PATH=/bin:/sbin:/usr/bin:/usr/sbin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        ln -s mke2fs /sbin/mkfs.ext4 2>/dev/null
        ln -s e2fsck /sbin/fsck.ext4 2>/dev/null
        for m in $(cat /modules.order); do
          insmod /lib/modules/$m.ko || echo "VDISK-INIT: insmod $m failed"
        done
        # Only emergencies on the console from here: kernel lines must not split workload lines.
        dmesg -n 1
        # A virtio block device on the PCI bus? Then wait (up to 30 s) for its node.
        if grep -qs 0x1af4 /sys/bus/pci/devices/*/vendor; then
          i=0
          while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
        fi
        echo VDISK-WORKLOAD-BEGIN
        sh /workload.sh
        rc=$?
        sync
        echo "VDISK-WORKLOAD-END rc=$rc"
        poweroff -f
        """,
        0100755);
  }

  /** Writes the archive. */
  public Path write(Path out) {
    try {
      Files.createDirectories(out.toAbsolutePath().getParent());
      Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
      try (OutputStream o = Files.newOutputStream(tmp)) {
        o.write(cpio.finish());
      }
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The shared standard image (busybox, virtio + ext4 modules, e2fsprogs, blkdiscard, standard
   * /init), built once per JVM under {@code target/guest/}.
   */
  public static Path standard() {
    synchronized (LOCK) {
      if (standardCache == null) {
        Initramfs i = create().busybox().modules(STANDARD_MODULES).standardInit();
        STANDARD_TOOLS.forEach(i::program);
        if (Files.exists(Path.of("/etc/mke2fs.conf"))) {
          try {
            i.file("/etc/mke2fs.conf", Files.readAllBytes(Path.of("/etc/mke2fs.conf")), 0100644);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        standardCache = i.write(Path.of("target", "guest", "standard.cpio"));
      }
      return standardCache;
    }
  }

  /** {@code base} followed by an archive holding {@code /workload.sh}, written to {@code out}. */
  public static Path withWorkload(Path base, String script, Path out) {
    byte[] extra =
        new CpioWriter()
            .file("/workload.sh", script.getBytes(StandardCharsets.UTF_8), 0100755)
            .finish();
    try {
      Files.createDirectories(out.toAbsolutePath().getParent());
      try (OutputStream o = Files.newOutputStream(out)) {
        Files.copy(base, o);
        o.write(extra);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(
            String.join(" ", command) + " failed: " + new String(out, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return out;
  }

  /** The cpio "newc" format (what the kernel's initramfs unpacker reads). */
  static final class CpioWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Boolean> written = new LinkedHashMap<>();
    private int inode = 1;

    CpioWriter file(String path, byte[] data, int mode) {
      entry(path, mode, data, 0, 0);
      return this;
    }

    CpioWriter symlink(String path, String target) {
      entry(path, 0120777, target.getBytes(StandardCharsets.UTF_8), 0, 0);
      return this;
    }

    CpioWriter node(String path, int mode, int rdevMajor, int rdevMinor) {
      entry(path, mode, new byte[0], rdevMajor, rdevMinor);
      return this;
    }

    private void entry(String path, int mode, byte[] data, int rdevMajor, int rdevMinor) {
      String name = path.startsWith("/") ? path.substring(1) : path;
      if (name.isEmpty()) {
        return;
      }
      written.put(name, true);
      header(name, mode, data.length, rdevMajor, rdevMinor, (mode & 0170000) == 0040000 ? 2 : 1);
      out.writeBytes(data);
      pad();
    }

    private void header(String name, int mode, int size, int rdevMajor, int rdevMinor, int nlink) {
      byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
      StringBuilder h = new StringBuilder("070701");
      for (long v :
          new long[] {
            inode++, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, n.length, 0
          }) {
        h.append(String.format("%08x", v));
      }
      out.writeBytes(h.toString().getBytes(StandardCharsets.US_ASCII));
      out.writeBytes(n);
      pad();
    }

    private void pad() {
      while (out.size() % 4 != 0) {
        out.write(0);
      }
    }

    byte[] finish() {
      header("TRAILER!!!", 0, 0, 0, 0, 1);
      // The kernel reads archives in 512-byte-aligned chunks comfortably; pad like cpio does.
      while (out.size() % 512 != 0) {
        out.write(0);
      }
      return out.toByteArray();
    }
  }
}
