package dev.vdisk.memdisk;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Boots Debian's MEMDISK under QEMU TCG with an image as initrd, waits for its INT 13h hook, lets
 * the halting boot sector run, and dumps all guest RAM with QMP {@code pmemsave} (spec §10).
 */
final class QemuMemdiskBoot {
  static final int RAM_MIB = 32;
  static final long RAM_BYTES = (long) RAM_MIB << 20;
  private static final Duration HOOK_TIMEOUT = Duration.ofSeconds(45);
  private static final long SETTLE_MILLIS = 3000;

  /** What one boot produced. */
  record Dump(Path file, String screen) {}

  private QemuMemdiskBoot() {}

  static Dump boot(Path dir, String name, Path image, String append) throws Exception {
    Path qemuBin = Tools.require("qemu-system-x86_64", "qemu-system-x86");
    Path memdisk = Tools.memdisk();
    Path socket = dir.resolve(name + ".qmp");
    Path log = dir.resolve(name + ".qemu.log");
    Path dump = dir.resolve(name + ".dump");
    Path low = dir.resolve(name + ".low");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                qemuBin.toString(),
                "-accel",
                "tcg",
                "-m",
                Integer.toString(RAM_MIB),
                "-display",
                "none",
                "-nic",
                "none",
                "-no-reboot",
                "-serial",
                "none",
                "-parallel",
                "none",
                "-qmp",
                "unix:" + socket + ",server=on,wait=off",
                "-kernel",
                memdisk.toString(),
                "-initrd",
                image.toString()));
    if (append != null) {
      cmd.add("-append");
      cmd.add(append);
    }
    Process qemu =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    String stage = "starting QEMU";
    try (Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(20), qemu)) {
      stage = "waiting for MEMDISK's INT 13h hook";
      Instant deadline = Instant.now().plus(HOOK_TIMEOUT);
      while (!memdiskHooked(qmp, low)) {
        if (!qemu.isAlive() || Instant.now().isAfter(deadline)) {
          throw new AssertionError("no MEMDISK hook at 0x4C within " + HOOK_TIMEOUT);
        }
        Thread.sleep(500);
      }
      stage = "letting the boot sector halt";
      Thread.sleep(SETTLE_MILLIS);
      stage = "dumping guest memory";
      qmp.execute("stop", null);
      qmp.pmemsave(0, RAM_BYTES, dump);
      qmp.execute("quit", null);
    } catch (Exception | AssertionError e) {
      throw new AssertionError(
          "MEMDISK boot '"
              + name
              + "' failed while "
              + stage
              + ": "
              + e
              + "\nQEMU: "
              + String.join(" ", cmd)
              + "\nQEMU output:\n"
              + readQuietly(log)
              + "\nguest screen:\n"
              + (Files.exists(low) ? screen(low) : "(no dump)"),
          e);
    } finally {
      if (!qemu.waitFor(10, TimeUnit.SECONDS)) {
        qemu.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (Files.size(dump) != RAM_BYTES) {
      throw new AssertionError(
          "pmemsave wrote " + Files.size(dump) + " bytes, expected " + RAM_BYTES);
    }
    return new Dump(dump, screen(dump));
  }

  private static boolean memdiskHooked(Qmp qmp, Path low) throws IOException {
    qmp.pmemsave(0, 1 << 20, low);
    byte[] b = Files.readAllBytes(low);
    if (b.length < 1 << 20) {
      return false;
    }
    int off = (b[0x4C] & 0xFF) | (b[0x4D] & 0xFF) << 8;
    int seg = (b[0x4E] & 0xFF) | (b[0x4F] & 0xFF) << 8;
    int l = seg * 16 + off;
    if (l + 19 > b.length) {
      return false;
    }
    return new String(b, l + 3, 16, StandardCharsets.US_ASCII).equals("$INT13SFMEMDISK ");
  }

  /** The VGA text screen (0xB8000, 80x25, character bytes) of a dump, as lines. */
  static String screen(Path dump) {
    try (RandomAccessFile f = new RandomAccessFile(dump.toFile(), "r")) {
      if (f.length() < 0xB8000 + 4000) {
        return "(dump too short for the text screen)";
      }
      byte[] b = new byte[4000];
      f.seek(0xB8000);
      f.readFully(b);
      StringBuilder sb = new StringBuilder();
      for (int row = 0; row < 25; row++) {
        StringBuilder line = new StringBuilder();
        for (int col = 0; col < 80; col++) {
          int ch = b[(row * 80 + col) * 2] & 0xFF;
          line.append(ch >= 0x20 && ch < 0x7F ? (char) ch : ' ');
        }
        String s = line.toString().stripTrailing();
        if (!s.isEmpty()) {
          sb.append(s).append('\n');
        }
      }
      return sb.toString();
    } catch (IOException e) {
      return "(cannot read screen: " + e + ")";
    }
  }

  private static String readQuietly(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p, StandardCharsets.ISO_8859_1) : "(none)";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
