package dev.vdisk.cli;

import static dev.vdisk.cli.ServeCommandIT.vdisk;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.vhost.testing.Initramfs;
import dev.vdisk.vhost.testing.LinuxGuest;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The end-to-end chain of issue 9: a Linux guest in QEMU whose disk is an NBD export of nbdkit,
 * reached through {@code vdisk serve --disk nbd+unix://...} (vhost-user-blk to the guest, vdisk's
 * NBD client to nbdkit), with the same disk re-exported by {@code --nbd-socket} to a real NBD
 * client (nbdcopy) in the same process.
 *
 * <pre>
 *   guest virtio-blk ─ vhost-user ─ vdisk serve ─ NBD client ─ nbdkit memory 64M
 *                                       └─ NBD server ─ nbdcopy
 * </pre>
 */
class ServeRemoteDiskIT {
  private static final int MIB = 1 << 20;

  /** Fails (never skips) with the Debian package to install when a peer tool is missing. */
  static Path tool(String name, String debianPackage) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    for (String d : List.of("/usr/sbin", "/usr/bin", "/sbin")) {
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new AssertionError(
        name + " is not installed: this test needs it (apt-get install " + debianPackage + ")");
  }

  /** Runs a peer tool to completion within a minute; its output is in the failure message. */
  static String run(Path dir, String... cmd) throws Exception {
    Path log = Files.createTempFile(dir, "cmd", ".log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean done = p.waitFor(60, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
    }
    String out = Files.readString(log);
    assertThat(done).as("%s did not finish in 60 s: %s", String.join(" ", cmd), out).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), out).isZero();
    return out;
  }

  static void awaitSocket(Path sock, Process owner, Path errLog) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!Files.exists(sock) && System.nanoTime() < deadline && owner.isAlive()) {
      Thread.sleep(50);
    }
    assertThat(Files.exists(sock))
        .as(
            "%s was bound; log: %s",
            sock, Files.exists(errLog) ? Files.readString(errLog) : "(none)")
        .isTrue();
  }

  static String sha256(Path file, long offset, long length) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(MIB);
      for (long pos = offset; pos < offset + length; ) {
        b.clear().limit((int) Math.min(MIB, offset + length - pos));
        int n = ch.read(b, pos);
        assertThat(n).as("read %s at %d", file, pos).isPositive();
        md.update(b.flip());
        pos += n;
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  @Test
  void guestReadsAndWritesAnNbdkitExportThroughVdiskServe() throws Exception {
    Path nbdkit = tool("nbdkit", "nbdkit");
    Path nbdcopy = tool("nbdcopy", "libnbd-bin");
    Path dir = Files.createDirectories(Path.of("target", "guest", "serve-remote").toAbsolutePath());
    Path upstream = dir.resolve("nbdkit.sock");
    Path vhostSock = dir.resolve("vhost.sock");
    Path reExport = dir.resolve("re.sock");
    for (Path p : List.of(upstream, vhostSock, reExport)) {
      Files.deleteIfExists(p);
    }
    // 64 MiB with 8 MiB of random data at the start: the guest must read exactly that.
    Path seed = dir.resolve("seed.img");
    byte[] data = new byte[8 * MIB];
    new Random(9).nextBytes(data);
    try (FileChannel ch =
        FileChannel.open(
            seed,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.wrap(data), 0);
      ch.truncate(64L * MIB);
      ch.write(ByteBuffer.wrap(new byte[1]), 64L * MIB - 1);
    }
    String seeded = sha256(seed, 0, 8L * MIB);

    List<Process> started = new ArrayList<>();
    Path nbdkitLog = dir.resolve("nbdkit.log");
    try {
      Process server =
          new ProcessBuilder(
                  nbdkit.toString(),
                  "-f",
                  "--exit-with-parent",
                  "-U",
                  upstream.toString(),
                  "memory",
                  "64M")
              .redirectErrorStream(true)
              .redirectOutput(nbdkitLog.toFile())
              .start();
      started.add(server);
      awaitSocket(upstream, server, nbdkitLog);
      String upstreamUri = "nbd+unix:///?socket=" + upstream;
      run(dir, nbdcopy.toString(), seed.toString(), upstreamUri);

      Process serve =
          vdisk(
              dir,
              "serve",
              "--socket",
              vhostSock.toString(),
              "--disk",
              upstreamUri,
              "--timeout",
              "20",
              "--nbd-socket",
              reExport.toString());
      started.add(serve);
      awaitSocket(vhostSock, serve, dir.resolve("vdisk.err"));

      Path initrd =
          Initramfs.withWorkload(
              Initramfs.standard(),
              """
              set -e
              echo "RESULT size $(blockdev --getsize64 /dev/vda)"
              echo "RESULT seeded $(head -c 8388608 /dev/vda | sha256sum | cut -d' ' -f1)"
              dd if=/dev/urandom of=/tmp/a bs=1M count=16 2>/dev/null
              dd if=/tmp/a of=/dev/vda bs=1M seek=16 conv=fsync 2>/dev/null
              echo 3 > /proc/sys/vm/drop_caches
              echo "RESULT written $(sha256sum /tmp/a | cut -d' ' -f1)"
              echo "RESULT reread $(dd if=/dev/vda bs=1M skip=16 count=16 2>/dev/null \
                | sha256sum | cut -d' ' -f1)"
              """,
              dir.resolve("initrd.cpio"));
      LinuxGuest.Result r;
      try (LinuxGuest guest =
          LinuxGuest.builder()
              .initramfs(initrd)
              .vhostUserBlk(vhostSock, 1)
              .consoleLog(dir.resolve("console.log"))
              .start()) {
        r = guest.awaitExit(Duration.ofMinutes(4));
      }
      String vdiskErr = Files.readString(dir.resolve("vdisk.err"));
      assertThat(r.workloadExit()).as(r.describe() + "\nvdisk: " + vdiskErr).isZero();
      Map<String, String> res = r.results();
      assertThat(res.get("size")).as(r.describe()).isEqualTo(Long.toString(64L * MIB));
      assertThat(res.get("seeded")).as("guest read nbdkit's data").isEqualTo(seeded);
      assertThat(res.get("reread")).as("guest read its write back").isEqualTo(res.get("written"));

      // The write reached nbdkit (read back by a real client straight from nbdkit) and vdisk's
      // own NBD re-export of the same disk serves the same bytes to nbdcopy.
      Path direct = dir.resolve("direct.img");
      Path viaVdisk = dir.resolve("via-vdisk.img");
      Files.deleteIfExists(direct);
      Files.deleteIfExists(viaVdisk);
      run(dir, nbdcopy.toString(), upstreamUri, direct.toString());
      run(dir, nbdcopy.toString(), "nbd+unix:///?socket=" + reExport, viaVdisk.toString());
      assertThat(sha256(direct, 16L * MIB, 16L * MIB)).isEqualTo(res.get("written"));
      assertThat(sha256(direct, 0, 8L * MIB)).isEqualTo(seeded);
      assertThat(sha256(viaVdisk, 0, 64L * MIB)).isEqualTo(sha256(direct, 0, 64L * MIB));

      serve.destroy(); // SIGTERM: clean stop, flush through to nbdkit, exit 0.
      assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String o = Files.readString(dir.resolve("vdisk.out"));
      assertThat(serve.exitValue()).as(o + Files.readString(dir.resolve("vdisk.err"))).isZero();
      assertThat(o)
          .contains("serving disk " + upstreamUri + ", 64.0 MiB")
          .contains("exported as NBD nbd+unix:///?socket=" + reExport)
          .containsPattern("queue 0: \\d+ reads \\(.*\\), \\d+ writes \\(16\\.\\d MiB\\)");
    } finally {
      for (Process p : started) {
        p.destroyForcibly();
      }
    }
  }
}
