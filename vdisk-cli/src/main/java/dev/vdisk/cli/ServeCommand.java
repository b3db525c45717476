package dev.vdisk.cli;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDevices;
import dev.vdisk.api.OpenOptions;
import dev.vdisk.api.Sizes;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.remote.imdisk.ImDiskProtocol;
import dev.vdisk.remote.imdisk.ImDiskProxyServer;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.nbd.NbdProtocol;
import dev.vdisk.remote.nbd.NbdServer;
import dev.vdisk.remote.nbd.NbdServerOptions;
import dev.vdisk.vhost.VhostUserServer;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code vdisk serve}: one disk as a vhost-user-blk back end on a Unix socket, for QEMU, Cloud
 * Hypervisor or crosvm, and/or as an NBD or ImDisk proxy export. Runs until SIGINT/SIGTERM, then
 * stops every front end, flushes and closes the disk, prints the statistics and exits 0.
 *
 * <p>The vhost-user socket is served unless only network exports were asked for ({@code --nbd},
 * {@code --nbd-socket}, {@code --imdisk-proxy}, {@code --imdisk-proxy-socket} without {@code
 * --socket}); naming {@code --socket} as well serves both from the same disk in one process.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Serve a disk to a VMM over vhost-user-blk (QEMU: -device vhost-user-blk-pci-non-transitional).",
      "Without --file, --ram or --disk it serves a 1 GiB RAM disk. Prints the QEMU command line",
      "to attach a guest, one log line per connection, and statistics on exit (SIGINT/SIGTERM).",
      "--nbd/--nbd-socket and --imdisk-proxy/--imdisk-proxy-socket export the same disk to",
      "network clients; with only those, no vhost-user socket is made unless --socket is given."
    })
public final class ServeCommand implements Callable<Integer> {
  /** Where the socket goes when --socket is not given. */
  public static final String DEFAULT_SOCKET = "/tmp/vdisk.sock";

  static final long DEFAULT_RAM = 1L << 30;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--socket",
      paramLabel = "PATH",
      description = "Unix socket to listen on (default: ${DEFAULT-VALUE}).",
      defaultValue = DEFAULT_SOCKET)
  Path socket;

  @Option(names = "--file", paramLabel = "IMAGE", description = "Serve this raw image file.")
  Path file;

  @Option(
      names = "--create",
      paramLabel = "SIZE",
      description = "With --file: create IMAGE as a new sparse image of SIZE (K/M/G/T suffixes).")
  String create;

  @Option(
      names = "--ram",
      paramLabel = "SIZE",
      description = "Serve a sparse RAM disk of SIZE (K/M/G/T suffixes; default 1G).")
  String ram;

  @Option(
      names = "--disk",
      paramLabel = "URI",
      description =
          "Serve any disk URI: a path, file:PATH, ram:SIZE, nbd://HOST[:PORT][/EXPORT],"
              + " nbd+unix:///[EXPORT]?socket=PATH, aoe://IFACE/SHELF.SLOT, imdisk://HOST:PORT,"
              + " imdisk+unix://PATH.")
  String disk;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description =
          "With --disk: per-request timeout of a remote disk (default: ${DEFAULT-VALUE}).",
      defaultValue = "30")
  int timeoutSeconds;

  @Option(
      names = "--nbd",
      paramLabel = "HOST:PORT",
      description = "Also export the disk over NBD on TCP (port 0: any free port; default 10809).")
  String nbd;

  @Option(
      names = "--nbd-socket",
      paramLabel = "PATH",
      description = "Also export the disk over NBD on a Unix socket.")
  Path nbdSocket;

  @Option(
      names = "--export-name",
      paramLabel = "NAME",
      description = "NBD export name (clients asking for \"\" get it too; default: empty).",
      defaultValue = "")
  String exportName;

  @Option(
      names = "--imdisk-proxy",
      paramLabel = "HOST:PORT",
      description = "Also serve the disk to ImDisk's proxy client on TCP (default port 9000).")
  String imdiskProxy;

  @Option(
      names = "--imdisk-proxy-socket",
      paramLabel = "PATH",
      description = "Also serve the disk to ImDisk's proxy protocol on a Unix socket.")
  Path imdiskProxySocket;

  @Option(
      names = "--offset",
      paramLabel = "SIZE",
      description = "Serve a window of the disk starting this far in (K/M/G/T suffixes).")
  String offset;

  @Option(
      names = "--length",
      paramLabel = "SIZE",
      description = "Length of the window (default: to the end of the disk).")
  String length;

  @Option(
      names = "--byte-swap",
      description = "Swap the bytes of every 16-bit word on the way in and out (ImDisk's option).")
  boolean byteSwap;

  @Option(names = "--read-only", description = "Refuse every write (the guest sees a RO disk).")
  boolean readOnly;

  @Option(
      names = "--queues",
      paramLabel = "N",
      description = "Request queues offered (default: ${DEFAULT-VALUE}).",
      defaultValue = "1")
  int queues;

  @Option(
      names = "--queue-size",
      paramLabel = "N",
      description = "Largest queue size, a power of two (default: ${DEFAULT-VALUE}).",
      defaultValue = "256")
  int queueSize;

  @Option(
      names = "--serial",
      paramLabel = "TEXT",
      description = "Serial number the guest reads (GET_ID), up to 20 ASCII characters.")
  String serial;

  @Option(
      names = "--block-size",
      paramLabel = "512|4096",
      description = "Logical block size (default: ${DEFAULT-VALUE}).",
      defaultValue = "512")
  int blockSize;

  @Option(
      names = "--discard",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "Offer DISCARD when the disk supports it (default: on).")
  boolean discard;

  @Option(
      names = "--write-zeroes",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "Offer WRITE_ZEROES when the disk supports it (default: on).")
  boolean writeZeroes;

  private final CountDownLatch stopRequested = new CountDownLatch(1);

  /** Asks a running {@code serve} to shut down as SIGTERM does (tests, embedders). */
  public void requestStop() {
    stopRequested.countDown();
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    // Trap the signals first: a SIGTERM during start-up must still end in a clean stop.
    SignalTrap.install(this::requestStop);
    validate();
    Endpoint nbdAt = nbdEndpoint();
    Endpoint imdiskAt = imdiskEndpoint();
    OpenOptions shared = sharedOptions(spec, false, offset, length, byteSwap);
    BlockDevice disk = openDisk();
    try {
      disk = BlockDevices.applyOptions(disk, shared); // closes disk when the window does not fit
    } catch (IllegalArgumentException e) {
      throw bad(e.getMessage());
    }
    boolean vhost = servesVhostUser();
    VhostUserServer server = null;
    VirtioBlkDevice device = null;
    List<String> exports = new ArrayList<>();
    // Network front ends, closed before the disk (in reverse order of start).
    List<Closeable> fronts = new ArrayList<>();
    try {
      if (vhost) {
        VirtioBlkDevice.Builder b =
            VirtioBlkDevice.builder(disk)
                .queues(queues)
                .queueSize(queueSize)
                .discard(discard)
                .writeZeroes(writeZeroes);
        if (serial != null) {
          b.serial(serial);
        }
        device = b.build();
        server = VhostUserServer.builder(socket, device).start();
        fronts.add(server);
        exports.add("vhost-user " + socket);
      }
      NbdServerOptions nbdOptions =
          NbdServerOptions.DEFAULTS
              .withExportName(exportName)
              .withReadOnly(readOnly || disk.isReadOnly());
      for (Endpoint at : endpoints(nbdAt, nbdSocket)) {
        NbdServer n = NbdServer.start(at, disk, nbdOptions);
        fronts.add(n);
        exports.add("NBD " + nbdUri(n.endpoint()));
      }
      for (Endpoint at : endpoints(imdiskAt, imdiskProxySocket)) {
        ImDiskProxyServer i = ImDiskProxyServer.start(at, disk, readOnly || disk.isReadOnly());
        fronts.add(i);
        exports.add("ImDisk proxy " + imdiskUri(i.endpoint()));
      }
    } catch (IOException | RuntimeException e) {
      closeAll(fronts);
      closeQuietly(disk);
      throw e;
    }
    long started = System.nanoTime();
    if (vhost) {
      out.println("vdisk serve: " + describe(disk) + " on " + socket);
      out.println(
          "attach a guest with (add its boot options: -kernel/-initrd/-append, or a -drive for"
              + " its system disk):");
      out.println("  " + QemuCommandLine.forSocket(socket, queues));
    } else {
      out.println("vdisk serve: " + describe(disk));
    }
    for (String e : exports) {
      out.println("  exported as " + e);
    }
    out.flush();

    stopRequested.await();

    // Shut down in dependency order: no front end may touch the device while the disk closes.
    closeAll(fronts);
    if (device != null) {
      device.reset();
    }
    int status = 0;
    try {
      disk.flush();
    } catch (IOException e) {
      spec.commandLine()
          .getErr()
          .println("vdisk serve: flushing the disk failed: " + e.getMessage());
      status = 1;
    }
    closeQuietly(disk);
    if (server != null) {
      new ServeStatistics(server.stats(), device.stats(), System.nanoTime() - started).print(out);
    } else {
      out.printf(
          java.util.Locale.ROOT,
          "vdisk serve: stopped after %.1f s%n",
          (System.nanoTime() - started) / 1e9);
    }
    out.flush();
    return status;
  }

  /**
   * The options every backend shares (read-only, window, byte swap) from the command line; bad
   * sizes are one-line parameter errors naming the option. Also used by {@code vdisk info}.
   */
  static OpenOptions sharedOptions(
      CommandLine.Model.CommandSpec spec,
      boolean readOnly,
      String offset,
      String length,
      boolean byteSwap) {
    long off = offset == null ? 0 : windowSize(spec, "--offset", offset, true);
    long len = length == null ? -1 : windowSize(spec, "--length", length, false);
    try {
      return OpenOptions.DEFAULTS
          .withReadOnly(readOnly)
          .withWindow(off, len)
          .withByteSwap(byteSwap);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private static long windowSize(
      CommandLine.Model.CommandSpec spec, String option, String text, boolean zeroOk) {
    long v;
    try {
      v = Sizes.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), option + ": " + e.getMessage());
    }
    if (v < 0 || (!zeroOk && v == 0)) {
      throw new ParameterException(
          spec.commandLine(),
          option + " " + text + " (expected " + (zeroOk ? ">= 0" : "> 0") + ")");
    }
    return v;
  }

  /** vhost-user is served by default, and alongside network exports only when asked for. */
  private boolean servesVhostUser() {
    boolean network =
        nbd != null || nbdSocket != null || imdiskProxy != null || imdiskProxySocket != null;
    return !network || spec.commandLine().getParseResult().hasMatchedOption("--socket");
  }

  private static List<Endpoint> endpoints(Endpoint tcp, Path unix) {
    List<Endpoint> l = new ArrayList<>();
    if (tcp != null) {
      l.add(tcp);
    }
    if (unix != null) {
      l.add(Endpoint.unix(unix));
    }
    return l;
  }

  private Endpoint nbdEndpoint() {
    return hostPort("--nbd", nbd, NbdProtocol.DEFAULT_PORT);
  }

  private Endpoint imdiskEndpoint() {
    return hostPort("--imdisk-proxy", imdiskProxy, ImDiskProtocol.DEFAULT_PORT);
  }

  private Endpoint hostPort(String option, String text, int defaultPort) {
    if (text == null) {
      return null;
    }
    try {
      return Endpoint.parseHostPort(text, defaultPort);
    } catch (IllegalArgumentException e) {
      throw bad(option + ": " + e.getMessage());
    }
  }

  /** The URI a client (nbdinfo, qemu-img, vdisk) connects to, as libnbd and QEMU spell it. */
  private String nbdUri(Endpoint e) {
    String name = exportName.isEmpty() ? "" : "/" + exportName;
    if (e.isUnix()) {
      return "nbd+unix://" + (name.isEmpty() ? "/" : name) + "?socket=" + e.unixPath();
    }
    return "nbd://" + hostForUri(e.host()) + ":" + e.port() + name;
  }

  private static String imdiskUri(Endpoint e) {
    return e.isUnix()
        ? "imdisk+unix://" + e.unixPath()
        : "imdisk://" + hostForUri(e.host()) + ":" + e.port();
  }

  private static String hostForUri(String host) {
    return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
  }

  private static void closeAll(List<Closeable> fronts) {
    for (int i = fronts.size() - 1; i >= 0; i--) {
      try {
        fronts.get(i).close();
      } catch (IOException | RuntimeException e) {
        // Stopping anyway; the disk is flushed and closed next.
      }
    }
  }

  private void validate() {
    if (file != null && ram != null) {
      throw bad("--file and --ram are exclusive: serve one disk");
    }
    if (disk != null && (file != null || ram != null)) {
      throw bad(
          "--disk and " + (file != null ? "--file" : "--ram") + " are exclusive: serve one disk");
    }
    if (timeoutSeconds < 1) {
      throw bad("--timeout " + timeoutSeconds + " (expected >= 1)");
    }
    List<Path> sockets = new ArrayList<>();
    if (servesVhostUser()) {
      sockets.add(socket);
    }
    for (Path p : new Path[] {nbdSocket, imdiskProxySocket}) {
      if (p != null) {
        if (sockets.contains(p)) {
          throw bad("socket path " + p + " is named twice (one socket per front end)");
        }
        sockets.add(p);
      }
    }
    if (create != null && file == null) {
      throw bad("--create SIZE needs --file IMAGE (the image to create)");
    }
    if (create != null && readOnly) {
      throw bad("--create with --read-only would serve an empty disk nobody can write");
    }
    if (blockSize != 512 && blockSize != 4096) {
      throw bad("--block-size " + blockSize + " (expected 512 or 4096)");
    }
    if (queues < 1 || queues > 64) {
      throw bad("--queues " + queues + " (expected 1..64)");
    }
    if (queueSize < 1 || queueSize > 32768 || Integer.bitCount(queueSize) != 1) {
      throw bad("--queue-size " + queueSize + " (expected a power of two, 1..32768)");
    }
  }

  private long size(String option, String text) {
    long v;
    try {
      v = Sizes.parse(text);
    } catch (IllegalArgumentException e) {
      throw bad(option + ": " + e.getMessage());
    }
    if (v <= 0 || v % blockSize != 0) {
      throw bad(
          option
              + " "
              + text
              + " is "
              + v
              + " bytes (expected a positive multiple of the block"
              + " size "
              + blockSize
              + ")");
    }
    return v;
  }

  private BlockDevice openDisk() throws IOException {
    if (disk != null) {
      return openUri();
    }
    if (file == null) {
      long bytes = ram == null ? DEFAULT_RAM : size("--ram", ram);
      // Large sparse disks: 1 MiB chunks keep the chunk table small (3 TiB = 3M slots).
      int chunk = bytes > (64L << 30) ? 1 << 20 : RamDisk.DEFAULT_CHUNK_SIZE;
      RamDisk r = RamDisk.create(bytes, blockSize, Math.max(chunk, blockSize));
      return readOnly ? ReadOnlyDevice.of(r) : r;
    }
    if (create != null) {
      long bytes = size("--create", create);
      try {
        return FileDisk.create(file, bytes, blockSize);
      } catch (FileAlreadyExistsException e) {
        throw bad("--create: " + file + " already exists (remove it or drop --create)");
      }
    }
    if (!Files.exists(file)) {
      throw bad("--file " + file + ": no such file (add --create SIZE to make a new image)");
    }
    if (Files.isDirectory(file)) {
      throw bad("--file " + file + " is a directory");
    }
    try {
      return FileDisk.open(file, readOnly, blockSize);
    } catch (NoSuchFileException e) {
      throw bad("--file " + file + ": no such file");
    } catch (IllegalArgumentException e) {
      throw bad("--file " + file + ": " + e.getMessage());
    }
  }

  /** {@code --disk URI}: any backend; a remote one is connected (and checked) before serving. */
  private BlockDevice openUri() throws IOException {
    OpenOptions o =
        OpenOptions.DEFAULTS.withReadOnly(readOnly).withTimeout(Duration.ofSeconds(timeoutSeconds));
    if (spec.commandLine().getParseResult().hasMatchedOption("--block-size")) {
      o = o.withBlockSize(blockSize);
    }
    try {
      return BlockDevices.open(disk, o);
    } catch (IllegalArgumentException e) {
      throw bad("--disk " + disk + ": " + e.getMessage());
    }
  }

  private String describe(BlockDevice disk) {
    String what =
        this.disk != null
            ? "disk " + this.disk
            : file == null
                ? "RAM disk"
                : (create != null ? "new image " : "image ") + file.toAbsolutePath();
    return "serving "
        + what
        + ", "
        + Sizes.human(disk.size())
        + " ("
        + disk.size()
        + " bytes), "
        + disk.blockSize()
        + "-byte blocks"
        + (disk.isReadOnly() ? ", read-only" : "")
        + (servesVhostUser() ? ", " + queues + (queues == 1 ? " queue" : " queues") : "");
  }

  private ParameterException bad(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private static void closeQuietly(BlockDevice d) {
    try {
      d.close();
    } catch (IOException | RuntimeException e) {
      // Nothing more to do on the way out.
    }
  }

  /** Counts signals so a second Ctrl-C forces the exit when a flush hangs. */
  static final AtomicInteger SIGNALS = new AtomicInteger();
}
