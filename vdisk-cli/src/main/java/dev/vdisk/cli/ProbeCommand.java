package dev.vdisk.cli;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.memdisk.MemdiskProbe;
import dev.vdisk.memdisk.MemoryDisk;
import dev.vdisk.memdisk.MemoryDiskDevice;
import dev.vdisk.memdisk.MemoryDump;
import dev.vdisk.memdisk.ProbeJson;
import dev.vdisk.memdisk.ProbeOptions;
import dev.vdisk.memdisk.ProbeReport;
import dev.vdisk.memdisk.ProbeResult;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import net.openhft.chronicle.bytes.BytesStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vdisk probe DUMP}: finds the RAM disks MEMDISK and GRUB4DOS left in a raw physical-memory
 * dump, lists every hook, table, disk and rejected candidate (or prints one JSON document), and can
 * extract one disk's bytes to a file. Exit status 0 when the dump was read (even with no disk in
 * it), 1 with a one-line reason on stderr when it could not be read or extracted, 2 on bad usage.
 */
@Command(
    name = "probe",
    mixinStandardHelpOptions = true,
    description = {
      "Find MEMDISK and GRUB4DOS RAM disks in a raw physical-memory dump (QEMU pmemsave).",
      "Walks the INT 13h hook chain and scans for MEMDISK mBFTs; lists every hook, RAM disk",
      "and rejected candidate with its reason."
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:the dump was read (even if it holds no disk)",
      "1:the dump (or --output) could not be read or written",
      "2:bad usage"
    })
public final class ProbeCommand implements Callable<Integer> {
  private static final int COPY_CHUNK = 1 << 20;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "DUMP", description = "Raw physical-memory image.")
  Path dump;

  @Option(
      names = "--base",
      paramLabel = "ADDR",
      defaultValue = "0",
      converter = AddressConverter.class,
      description = "Guest physical address of the dump's first byte (default 0; 0x... for hex).")
  long base;

  @Option(names = "--json", description = "Print one JSON document instead of the listing.")
  boolean json;

  @Option(
      names = "--extract",
      paramLabel = "N",
      description = "Write the bytes of disk N (as listed) to --output.")
  Integer extract;

  @Option(names = "--output", paramLabel = "FILE", description = "Where --extract writes.")
  Path output;

  @Option(
      names = "--include-disconnected",
      description = "Also expose MEMDISKs found only by the mBFT scan (not in the hook chain).")
  boolean includeDisconnected;

  @Option(
      names = "--include-overlapping",
      description = "Also expose disks that overlap another disk.")
  boolean includeOverlapping;

  @Override
  public Integer call() {
    if ((extract == null) != (output == null)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--extract N and --output FILE go together");
    }
    if (extract != null && extract < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--extract " + extract + " (expected a disk number >= 0)");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ProbeOptions options =
        ProbeOptions.DEFAULTS
            .withIncludeDisconnected(includeDisconnected)
            .withIncludeOverlapping(includeOverlapping);
    try (GuestMemory memory = MemoryDump.open(dump, base)) {
      if (MemoryDump.looksLikeElf(memory)) {
        err.println(
            "vdisk probe: warning: "
                + dump
                + " starts like an ELF core (dump-guest-memory); probe expects a raw pmemsave"
                + " dump");
      }
      ProbeResult result = MemdiskProbe.probe(memory, options);
      out.print(
          json ? ProbeJson.toJson(result) + System.lineSeparator() : ProbeReport.format(result));
      out.flush();
      if (extract != null) {
        if (extract >= result.disks().size()) {
          err.println(
              "vdisk probe: no disk "
                  + extract
                  + " in "
                  + dump
                  + " (found "
                  + result.disks().size()
                  + ")");
          return 1;
        }
        MemoryDisk disk = result.disks().get(extract);
        try {
          writeDisk(memory, disk, output);
        } catch (IOException e) {
          err.println("vdisk probe: " + oneLine(e));
          return 1;
        }
        err.println(
            "vdisk probe: wrote disk " + extract + " (" + disk.size() + " bytes) to " + output);
      }
      return 0;
    } catch (IOException | IllegalArgumentException e) {
      String reason = e instanceof NoSuchFileException ? "no such file" : oneLine(e);
      // MemoryDump's messages already name the file; don't say it twice.
      err.println(
          "vdisk probe: "
              + (reason.contains(dump.toString())
                  ? reason
                  : "cannot read " + dump + ": " + reason));
      return 1;
    }
  }

  /** Streams the disk through its block-device view, one chunk at a time (no whole-disk copy). */
  private static void writeDisk(GuestMemory memory, MemoryDisk disk, Path file) throws IOException {
    try (MemoryDiskDevice device = MemoryDiskDevice.readOnly(memory, disk);
        OutputStream out = Files.newOutputStream(file)) {
      BytesStore<?, Void> buffer = BytesStore.nativeStoreWithFixedCapacity(COPY_CHUNK);
      try {
        byte[] heap = new byte[COPY_CHUNK];
        for (long off = 0; off < disk.size(); off += COPY_CHUNK) {
          int n = (int) Math.min(COPY_CHUNK, disk.size() - off);
          device.read(off, buffer, 0, n);
          buffer.read(0, heap, 0, n);
          out.write(heap, 0, n);
        }
      } finally {
        buffer.releaseLast();
      }
    } catch (IOException e) {
      throw new IOException("cannot write " + file + ": " + oneLine(e), e);
    }
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage();
    return (m == null ? t.getClass().getSimpleName() : m).replace('\n', ' ');
  }

  /** Guest addresses: decimal, or hex with 0x; unsigned 64-bit. */
  static final class AddressConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      String v = value.trim().replace("_", "");
      try {
        if (v.startsWith("0x") || v.startsWith("0X")) {
          return Long.parseUnsignedLong(v.substring(2), 16);
        }
        return Long.parseUnsignedLong(v);
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not an address (expected decimal or 0x-prefixed hex)");
      }
    }
  }
}
