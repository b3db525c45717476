package dev.vdisk.cli;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDevices;
import dev.vdisk.api.OpenOptions;
import dev.vdisk.api.Sizes;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.qemu.QemuAttachment;
import dev.vdisk.qemu.VirtioPciFunction;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code vdisk attach-qemu}: vdisk's whole virtio-blk PCI device (transport included) hosted for a
 * running QEMU 7.2 through its multi-process proxy ({@code x-pci-proxy-dev}). Serves until QEMU
 * exits (status 0); when QEMU cannot be reached or refuses the device, prints one line and exits 1.
 */
@Command(
    name = "attach-qemu",
    mixinStandardHelpOptions = true,
    description = {
      "Puts vdisk's whole virtio-blk PCI device (1AF4:1042 rev 1, vdisk's own transport) into a"
          + " running QEMU 7.2 through QEMU's multi-process proxy (x-pci-proxy-dev).",
      "Connects to QEMU's QMP socket, hands QEMU one end of a socketpair (getfd), adds the device,"
          + " resumes the VM if it is paused, and serves until QEMU exits (exit status 0)."
    },
    // Fully qualified: this package has a QemuCommandLine of its own (vhost-user's, for serve).
    footer = dev.vdisk.qemu.QemuCommandLine.HELP)
public final class AttachQemuCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--qmp",
      required = true,
      paramLabel = "PATH",
      description = "QEMU's QMP socket (-qmp unix:PATH,server=on,wait=off).")
  Path qmp;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  /** Exactly one disk. */
  static final class Source {
    @Option(names = "--file", required = true, paramLabel = "IMAGE", description = "A raw image.")
    Path file;

    @Option(
        names = "--ram",
        required = true,
        paramLabel = "SIZE",
        description = "A RAM disk of SIZE bytes (64M, 1G, ...), zeroed.")
    String ram;

    @Option(
        names = "--disk",
        required = true,
        paramLabel = "URI",
        description = "Any disk vdisk opens by URI (file:, ram:, nbd://, ...).")
    String disk;
  }

  @Option(names = "--read-only", description = "The guest may read but not write the disk.")
  boolean readOnly;

  @Option(
      names = "--id",
      defaultValue = "vdisk0",
      paramLabel = "NAME",
      description = "QEMU device id (default: ${DEFAULT-VALUE}).")
  String id;

  @Option(
      names = "--profile",
      defaultValue = "default",
      paramLabel = "default|aero",
      description = "Device layout: default (like QEMU's) or aero (aerovblk's contract).")
  String profile;

  @Override
  public Integer call() throws IOException {
    // Every argument is checked before QEMU is contacted: a bad one must not leave QEMU paused
    // with half an attachment.
    QemuProfile p = profile();
    long ramSize = source.ram == null ? 0 : ramSize();
    QemuAttachment attachment = attachment();
    PrintWriter err = spec.commandLine().getErr();
    try (BlockDevice disk = open(ramSize)) {
      if (disk.isReadOnly() && p == QemuProfile.AERO) {
        // --read-only, or a disk that is read-only by nature (a read-only export).
        throw bad(
            "a read-only disk with --profile aero: the aerovblk contract has no read-only bit"
                + " (use --profile default, which offers VIRTIO_BLK_F_RO)");
      }
      attachment
          .onStatus(
              line -> {
                err.println("vdisk attach-qemu: " + line);
                err.flush();
              })
          .run(intx -> VirtioPciFunction.forBlock(disk, p, intx, id));
    }
    return 0;
  }

  private QemuProfile profile() {
    try {
      return QemuProfile.parse(profile);
    } catch (IllegalArgumentException e) {
      throw bad("--profile: " + e.getMessage());
    }
  }

  private long ramSize() {
    try {
      long size = Sizes.parse(source.ram);
      if (size <= 0) {
        throw new IllegalArgumentException("size " + size + " (expected > 0)");
      }
      return size;
    } catch (IllegalArgumentException e) {
      throw bad("--ram " + source.ram + ": " + e.getMessage());
    }
  }

  private QemuAttachment attachment() {
    try {
      return new QemuAttachment(qmp.toString(), id, QemuAttachment.DEFAULT_QMP_TIMEOUT);
    } catch (IllegalArgumentException e) { // QEMU's id syntax, checked by the attachment
      throw bad("--id: " + e.getMessage());
    }
  }

  private ParameterException bad(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private BlockDevice open(long ramSize) throws IOException {
    if (source.file != null) {
      return FileDisk.open(source.file, readOnly);
    }
    if (source.ram != null) {
      RamDisk ram = RamDisk.create(ramSize);
      return readOnly ? ReadOnlyDevice.of(ram) : ram;
    }
    return BlockDevices.open(source.disk, OpenOptions.DEFAULTS.withReadOnly(readOnly));
  }
}
