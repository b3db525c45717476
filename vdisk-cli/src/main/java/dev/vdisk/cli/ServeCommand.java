package dev.vdisk.cli;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.Sizes;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.vhost.VhostUserServer;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code vdisk serve}: one disk as a vhost-user-blk back end on a Unix socket, for QEMU, Cloud
 * Hypervisor or crosvm. Runs until SIGINT/SIGTERM, then stops the device, flushes and closes the
 * disk, prints the statistics and exits 0.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Serve a disk to a VMM over vhost-user-blk (QEMU: -device vhost-user-blk-pci).",
      "Without --file or --ram it serves a 1 GiB RAM disk. Prints the QEMU command line to",
      "attach a guest, one log line per connection, and statistics on exit (SIGINT/SIGTERM)."
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
    BlockDevice disk = openDisk();
    VhostUserServer server;
    VirtioBlkDevice device;
    try {
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
    } catch (IOException | RuntimeException e) {
      closeQuietly(disk);
      throw e;
    }
    long started = System.nanoTime();
    out.println("vdisk serve: " + describe(disk) + " on " + socket);
    out.println(
        "attach a guest with (add its boot options: -kernel/-initrd/-append, or a -drive for"
            + " its system disk):");
    out.println("  " + QemuCommandLine.forSocket(socket, queues));
    out.flush();

    stopRequested.await();

    // Shut down in dependency order: no front end may touch the device while the disk closes.
    server.close();
    device.reset();
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
    new ServeStatistics(server.stats(), device.stats(), System.nanoTime() - started).print(out);
    out.flush();
    return status;
  }

  private void validate() {
    if (file != null && ram != null) {
      throw bad("--file and --ram are exclusive: serve one disk");
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

  private String describe(BlockDevice disk) {
    String what =
        file == null
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
        + ", "
        + queues
        + (queues == 1 ? " queue" : " queues");
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
