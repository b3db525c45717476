package dev.vdisk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDevices;
import dev.vdisk.api.Geometry;
import dev.vdisk.api.OpenOptions;
import dev.vdisk.api.Sizes;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vdisk info URI [--json]}: what a disk is and what its backend supports. */
@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description = {
      "Show a disk's size, block size, read-only state, geometry and capabilities.",
      "URI: a path, file:PATH, ram:SIZE, nbd://HOST[:PORT][/EXPORT],",
      "nbd+unix:///[EXPORT]?socket=PATH, aoe://IFACE/SHELF.SLOT, imdisk://HOST:PORT,",
      "imdisk+unix:///PATH."
    })
public final class InfoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "URI", description = "The disk.")
  String uri;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description = "Give up on a remote disk after this long (default: ${DEFAULT-VALUE}).",
      defaultValue = "30")
  int timeoutSeconds;

  @Option(names = "--read-only", description = "Open the disk read-only.")
  boolean readOnly;

  @Option(
      names = "--offset",
      paramLabel = "SIZE",
      description = "Look at a window starting this far into the disk (K/M/G/T suffixes).")
  String offset;

  @Option(
      names = "--length",
      paramLabel = "SIZE",
      description = "Length of the window (default: to the end of the disk).")
  String length;

  @Option(names = "--byte-swap", description = "Swap the bytes of every 16-bit word.")
  boolean byteSwap;

  @Override
  public Integer call() throws Exception {
    if (timeoutSeconds < 1) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--timeout " + timeoutSeconds + " (expected >= 1)");
    }
    OpenOptions options =
        ServeCommand.sharedOptions(spec, readOnly, offset, length, byteSwap)
            .withTimeout(Duration.ofSeconds(timeoutSeconds));
    BlockDevice d;
    try {
      try {
        d = BlockDevices.open(uri, options);
      } catch (AccessDeniedException e) {
        // Looking needs no write access.
        d = BlockDevices.open(uri, options.withReadOnly(true));
      }
    } catch (IllegalArgumentException e) {
      // A window past the disk's end, a malformed URI: the user's input, one line, exit 2.
      throw new CommandLine.ParameterException(spec.commandLine(), uri + ": " + e.getMessage());
    }
    try (BlockDevice disk = d) {
      Map<String, Object> info = describe(uri, disk);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(info));
      } else {
        print(out, info, "");
      }
      out.flush();
    }
    return 0;
  }

  static Map<String, Object> describe(String uri, BlockDevice disk) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uri", uri);
    m.put("size", disk.size());
    m.put("size_human", Sizes.format(disk.size()));
    m.put("block_size", disk.blockSize());
    m.put("read_only", disk.isReadOnly());
    Geometry g = disk.geometry();
    Map<String, Object> geo = new LinkedHashMap<>();
    geo.put("cylinders", g.cylinders());
    geo.put("heads", g.heads());
    geo.put("sectors_per_track", g.sectorsPerTrack());
    geo.put("bytes_per_sector", g.bytesPerSector());
    m.put("geometry", geo);
    BlockCapabilities c = disk.capabilities();
    Map<String, Object> caps = new LinkedHashMap<>();
    caps.put("flush", c.flush());
    caps.put("discard", c.discard());
    caps.put("write_zeroes", c.writeZeroes());
    caps.put("write_zeroes_may_unmap", c.writeZeroesMayUnmap());
    caps.put("secure_erase", c.secureErase());
    caps.put("max_discard_bytes", c.maxDiscardBytes());
    caps.put("discard_granularity", c.discardGranularity());
    caps.put("async", disk instanceof AsyncBlockDevice);
    m.put("capabilities", caps);
    m.put("backend", disk.toString());
    return m;
  }

  @SuppressWarnings("unchecked")
  private static void print(PrintWriter out, Map<String, Object> m, String indent) {
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (e.getValue() instanceof Map<?, ?> sub) {
        out.println(indent + e.getKey() + ":");
        print(out, (Map<String, Object>) sub, indent + "  ");
      } else {
        out.println(indent + e.getKey() + ": " + e.getValue());
      }
    }
  }
}
