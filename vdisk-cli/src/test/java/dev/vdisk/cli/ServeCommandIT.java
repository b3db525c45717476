package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.vhost.testing.Initramfs;
import dev.vdisk.vhost.testing.LinuxGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code vdisk serve} as a user runs it: the shaded jar in its own JVM, a Linux guest in QEMU
 * writing to it, then SIGTERM, which must flush the image and exit 0 with statistics.
 */
class ServeCommandIT {
  static final Path JAR = Path.of("target", "vdisk.jar");
  static final long MIB = 1 << 20;

  static Process vdisk(Path dir, String... args) throws IOException {
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

  @Test
  void guestWritesToAFileImageAndSigtermFlushesAndExitsZero() throws Exception {
    Path dir = Path.of("target", "guest", "serve-cli");
    Files.createDirectories(dir);
    Path sock = dir.resolve("vdisk.sock");
    Path image = dir.resolve("disk.img");
    Files.deleteIfExists(image);
    Process serve =
        vdisk(
            dir,
            "serve",
            "--socket",
            sock.toString(),
            "--file",
            image.toString(),
            "--create",
            "64M",
            "--serial",
            "vdisk-cli-it");
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!Files.exists(sock) && System.nanoTime() < deadline && serve.isAlive()) {
        Thread.sleep(50);
      }
      assertThat(Files.exists(sock))
          .as(
              "vdisk serve bound its socket; stderr: %s",
              Files.readString(dir.resolve("vdisk.err")))
          .isTrue();
      Path initrd =
          Initramfs.withWorkload(
              Initramfs.standard(),
              """
              set -e
              echo "RESULT serial $(cat /sys/block/vda/serial)"
              echo "RESULT size $(blockdev --getsize64 /dev/vda)"
              dd if=/dev/urandom of=/tmp/a bs=1M count=16 2>/dev/null
              dd if=/tmp/a of=/dev/vda bs=1M 2>/dev/null
              sync
              echo "RESULT written $(sha256sum /tmp/a | cut -d' ' -f1)"
              """,
              dir.resolve("initrd.cpio"));
      LinuxGuest.Result r;
      try (LinuxGuest guest =
          LinuxGuest.builder()
              .initramfs(initrd)
              .vhostUserBlk(sock, 1)
              .consoleLog(dir.resolve("console.log"))
              .start()) {
        r = guest.awaitExit(Duration.ofMinutes(4));
      }
      assertThat(r.workloadExit()).as(r.describe()).isZero();
      Map<String, String> res = r.results();
      assertThat(res.get("serial")).as(r.describe()).isEqualTo("vdisk-cli-it");
      assertThat(res.get("size")).isEqualTo(Long.toString(64 * MIB));

      serve.destroy(); // SIGTERM
      assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String o = Files.readString(dir.resolve("vdisk.out"));
      String err = Files.readString(dir.resolve("vdisk.err"));
      assertThat(serve.exitValue()).as(o + err).isZero();
      assertThat(o).contains("serving new image " + image.toAbsolutePath() + ", 64.0 MiB");
      assertThat(o)
          .contains("-device vhost-user-blk-pci-non-transitional,chardev=vdisk0,num-queues=1");
      assertThat(o).contains("vdisk serve: stopped after");
      assertThat(o).containsPattern("queue 0: \\d+ reads \\(.*\\), \\d+ writes \\(16\\.\\d MiB\\)");
      assertThat(err).contains("connection #").contains("accepted");
      assertThat(Files.exists(sock)).isFalse();
      // What the guest wrote is in the image file.
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] all = Files.readAllBytes(image);
      md.update(all, 0, (int) (16 * MIB));
      assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(res.get("written"));
      assertThat(all.length).isEqualTo(64 * MIB);
    } finally {
      serve.destroyForcibly();
    }
  }

  @Test
  void badArgumentsExitNonZeroWithOneLine() throws Exception {
    Path dir = Path.of("target", "guest", "serve-cli-bad");
    Files.createDirectories(dir);
    Process p =
        vdisk(
            dir,
            "serve",
            "--socket",
            dir.resolve("s").toString(),
            "--file",
            dir.resolve("nope.img").toString());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    String err = Files.readString(dir.resolve("vdisk.err")).strip();
    assertThat(err.lines()).hasSize(1);
    assertThat(err).endsWith("nope.img: no such file (add --create SIZE to make a new image)");
  }
}
