package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.qemu.QemuProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code vdisk attach-qemu} as a user runs it: the shaded jar in its own JVM against a real QEMU
 * 7.2 started paused. SeaBIOS boots a boot sector from the read-only file the command serves, QEMU
 * exits through isa-debug-exit and the command then exits 0; a device id QEMU already has makes it
 * print one line and exit 1. (The guests that drive the device hard are vdisk-qemu's ITs; this
 * proves the command's own wiring.)
 */
class AttachQemuCommandIT {
  private static final Path JAR = Path.of("target", "vdisk.jar");
  private static final String MARKER = "VDISK-CLI-BOOT";

  /**
   * A boot sector, hand-assembled (16-bit real mode at 0x7c00): print MARKER on COM1, then {@code
   * out 0xf4, 0x31} (isa-debug-exit: QEMU exits with status (0x31 << 1) | 1 = 99), then halt.
   *
   * <pre>
   *  0: 31 c0     xor ax,ax          10: ac     lodsb            18: b0 31  mov al,0x31
   *  2: 8e d8     mov ds,ax          11: 84 c0  test al,al       20: e6 f4  out 0xf4,al
   *  4: be 19 7c  mov si,0x7c19      13: 74 03  jz 18            22: f4     hlt
   *  7: ba f8 03  mov dx,0x3f8       15: ee     out dx,al        23: eb fd  jmp 22
   *                                  16: eb f8  jmp 10           25: MARKER "\r\n" 0
   * </pre>
   */
  private static byte[] bootSector() {
    int[] code = {
      0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x19, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74, 0x03,
      0xee, 0xeb, 0xf8, 0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd
    };
    byte[] sector = new byte[512];
    for (int i = 0; i < code.length; i++) {
      sector[i] = (byte) code[i];
    }
    byte[] text = (MARKER + "\r\n").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(text, 0, sector, code.length, text.length);
    sector[510] = 0x55;
    sector[511] = (byte) 0xaa;
    return sector;
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void seabiosBootsFromTheServedFileAndTheCommandExitsZeroWithQemu() throws Exception {
    Path dir = workDir("attach-qemu-boot");
    Path image = dir.resolve("boot.img");
    byte[] content = new byte[1 << 20];
    System.arraycopy(bootSector(), 0, content, 0, 512);
    Files.write(image, content);
    try (QemuProcess qemu = startQemu(dir, List.of())) {
      Process vdisk =
          vdisk(
              dir,
              "attach-qemu",
              "--qmp",
              qemu.qmp.toString(),
              "--file",
              image.toString(),
              "--read-only",
              "--id",
              "boot0");
      // QEMU ends the test; vdisk ending first (a refused attach) must fail it at once.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (qemu.process.isAlive() && vdisk.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      boolean exited = qemu.process.waitFor(5, TimeUnit.SECONDS);
      String guest = qemu.output();
      String why = "QEMU and the guest printed:\n" + guest + "\nvdisk printed:\n" + err(dir);
      assertThat(exited).as("QEMU exited within 120 s; " + why).isTrue();
      assertThat(guest).as(why).contains(MARKER);
      assertThat(qemu.process.exitValue()).as("isa-debug-exit status; " + why).isEqualTo(99);
      assertThat(vdisk.waitFor(30, TimeUnit.SECONDS))
          .as("vdisk exits once QEMU has; " + why)
          .isTrue();
      assertThat(vdisk.exitValue()).as(why).isZero();
      assertThat(err(dir))
          .contains("attached boot0 to QEMU 7.2", "QEMU closed the connection; served ");
      assertThat(Files.readAllBytes(image)).as("read-only image unchanged").isEqualTo(content);
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aDeviceQemuRefusesIsOneLineAndExitStatusOne() throws Exception {
    Path dir = workDir("attach-qemu-refused");
    // QEMU already has a device with the id the command asks for.
    try (QemuProcess qemu =
        startQemu(dir, List.of("-device", "pci-bridge,id=taken,chassis_nr=1"))) {
      Process vdisk =
          vdisk(dir, "attach-qemu", "--qmp", qemu.qmp.toString(), "--ram", "1M", "--id", "taken");
      assertThat(vdisk.waitFor(60, TimeUnit.SECONDS)).as("vdisk gives up at once").isTrue();
      String err = err(dir);
      assertThat(vdisk.exitValue()).as(err).isEqualTo(1);
      assertThat(err.strip().lines().filter(l -> l.startsWith("vdisk")).toList())
          .as(err)
          .containsExactly(
              "vdisk attach-qemu: QEMU refused device_add: Duplicate device ID 'taken'");
      assertThat(qemu.process.isAlive()).as("QEMU itself is unharmed").isTrue();
    }
  }

  /** {@code java -jar target/vdisk.jar ARGS}, stdout and stderr to files in {@code dir}. */
  private static Process vdisk(Path dir, String... args) throws IOException {
    assertThat(JAR).as("the shaded jar is built at package, before the ITs").exists();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-jar");
    cmd.add(JAR.toString());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd)
        .redirectOutput(dir.resolve("vdisk.out").toFile())
        .redirectError(dir.resolve("vdisk.err").toFile())
        .start();
  }

  private static Path workDir(String name) throws IOException {
    Path dir = Path.of("target", "guest", name);
    Files.createDirectories(dir);
    Files.deleteIfExists(dir.resolve("qmp.sock"));
    return dir;
  }

  /**
   * QEMU paused with memfd RAM and a QMP socket (vdisk-qemu's QemuProcess), plus isa-debug-exit so
   * the boot sector can end it with a status.
   */
  private static QemuProcess startQemu(Path dir, List<String> extra) throws Exception {
    QemuProcess.requireTool(QemuProcess.QEMU, "qemu-system-x86");
    assertThat(Path.of("/usr/share/seabios/bios-256k.bin"))
        .as("SeaBIOS (Debian package seabios)")
        .exists();
    List<String> args =
        new ArrayList<>(List.of("-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"));
    args.addAll(extra);
    return QemuProcess.start(dir, "pc", 64, args);
  }

  private static String err(Path dir) {
    return QemuProcess.read(dir.resolve("vdisk.err"));
  }
}
