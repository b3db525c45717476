package dev.vdisk.remote.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.vdisk.backend.RamDisk;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.testing.Buffers;
import dev.vdisk.remote.testing.Peer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** vdisk's NBD server against real clients: nbdinfo, nbdcopy, qemu-img and qemu-io. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NbdServerIT {
  private static final int MIB = 1 << 20;
  private static final Duration MAX = Duration.ofSeconds(60);

  @TempDir Path dir;

  /** A 32 MiB sparse RAM disk with random data in MiB 2-3 and 10, holes elsewhere. */
  private static RamDisk sparseDisk() throws IOException {
    RamDisk d = RamDisk.create(32L * MIB);
    BytesStore<?, Void> data = Buffers.random(2 * MIB, 5);
    try {
      d.write(2L * MIB, data, 0, 2 * MIB);
      d.write(10L * MIB, data, 0, MIB);
    } finally {
      data.releaseLast();
    }
    return d;
  }

  private static String uri(Endpoint ep) {
    return ep.isUnix() ? "nbd+unix:///?socket=" + ep.unixPath() : "nbd://" + ep + "/";
  }

  @Test
  void nbdinfoSeesSizeExportListAndTheHoleMap() throws Exception {
    String nbdinfo = Peer.requireTool("nbdinfo", "libnbd-bin");
    try (RamDisk disk = sparseDisk();
        NbdServer server =
            NbdServer.start(
                Endpoint.unix(dir.resolve("s.sock")),
                disk,
                NbdServerOptions.DEFAULTS.withExportName("vd").withDescription("a test disk"))) {
      String u = "nbd+unix:///vd?socket=" + server.endpoint().unixPath();
      String size = Peer.run(MAX, nbdinfo, "--size", u).trim();
      assertThat(size).isEqualTo(Long.toString(32L * MIB));
      String list = Peer.run(MAX, nbdinfo, "--list", u);
      assertThat(list).contains("export=\"vd\"").contains("a test disk");
      String map = Peer.run(MAX, nbdinfo, "--map", u);
      // offset length type: holes (3) around the two data runs (0).
      List<String> rows = new ArrayList<>();
      for (String line : map.strip().split("\n")) {
        String[] f = line.trim().split("\\s+");
        rows.add(f[0] + " " + f[1] + " " + f[2]);
      }
      assertThat(rows)
          .containsExactly(
              "0 " + 2 * MIB + " 3",
              2 * MIB + " " + 2 * MIB + " 0",
              4 * MIB + " " + 6 * MIB + " 3",
              10 * MIB + " " + MIB + " 0",
              11 * MIB + " " + 21 * MIB + " 3");
    }
  }

  @Test
  void nbdcopyBothWaysAndQemuImgConvertGiveEqualChecksums() throws Exception {
    String nbdcopy = Peer.requireTool("nbdcopy", "libnbd-bin");
    String qemuImg = Peer.requireTool("qemu-img", "qemu-utils");
    try (RamDisk disk = sparseDisk();
        NbdServer server =
            NbdServer.start(Endpoint.tcp("127.0.0.1", 0), disk, NbdServerOptions.DEFAULTS)) {
      String expected = Buffers.sha256(disk);
      Path out = dir.resolve("out.img");
      Peer.run(MAX, nbdcopy, uri(server.endpoint()), out.toString());
      assertThat(Buffers.sha256(out)).isEqualTo(expected);
      Path q = dir.resolve("q.raw");
      Peer.run(
          MAX, qemuImg, "convert", "-f", "raw", "-O", "raw", uri(server.endpoint()), q.toString());
      assertThat(Buffers.sha256(q)).isEqualTo(expected);

      // The other way: a random file into the export.
      Path in = dir.resolve("in.img");
      byte[] content = new byte[32 * MIB];
      new Random(99).nextBytes(content);
      Files.write(in, content);
      Peer.run(MAX, nbdcopy, in.toString(), uri(server.endpoint()));
      assertThat(Buffers.sha256(disk)).isEqualTo(Buffers.sha256(content));
    }
  }

  @Test
  void qemuIoWritesAndReadsAndSeveralClientsAtOnce() throws Exception {
    String qemuIo = Peer.requireTool("qemu-io", "qemu-utils");
    String nbdcopy = Peer.requireTool("nbdcopy", "libnbd-bin");
    try (RamDisk disk = RamDisk.create(16L * MIB);
        NbdServer server =
            NbdServer.start(
                Endpoint.unix(dir.resolve("io.sock")), disk, NbdServerOptions.DEFAULTS)) {
      String u = uri(server.endpoint());
      String out =
          Peer.run(
              MAX,
              qemuIo,
              "-f",
              "raw",
              "-c",
              "write -P 0xab 1M 64k",
              "-c",
              "write -z 2M 1M",
              "-c",
              "discard 3M 1M",
              "-c",
              "read -P 0xab 1M 64k",
              "-c",
              "flush",
              u);
      assertThat(out).doesNotContain("failed").doesNotContain("Pattern verification");
      BytesStore<?, Void> b = Buffers.zeroed(64 * 1024);
      try {
        disk.read(MIB, b, 0, 64 * 1024);
        assertThat(Buffers.bytes(b, 0, 64 * 1024)).containsOnly((byte) 0xab);
      } finally {
        b.releaseLast();
      }
      // Three readers at once plus our own client on the same export.
      List<Process> procs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        procs.add(
            new ProcessBuilder(nbdcopy, u, dir.resolve("c" + i + ".img").toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("c" + i + ".log").toFile())
                .start());
      }
      try (NbdClient c =
          NbdClient.open(
              new NbdTarget(server.endpoint(), "", false), Duration.ofSeconds(10), false)) {
        String viaClient = Buffers.sha256(c);
        for (int i = 0; i < 3; i++) {
          Process p = procs.get(i);
          if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("nbdcopy " + i + " failed: " + Files.readString(dir.resolve("c" + i + ".log")));
          }
          assertThat(Buffers.sha256(dir.resolve("c" + i + ".img"))).isEqualTo(viaClient);
        }
        assertThat(viaClient).isEqualTo(Buffers.sha256(disk));
      }
    }
  }

  @Test
  void readOnlyExportRefusesWrites() throws Exception {
    String qemuIo = Peer.requireTool("qemu-io", "qemu-utils");
    String nbdinfo = Peer.requireTool("nbdinfo", "libnbd-bin");
    try (RamDisk disk = sparseDisk();
        NbdServer server =
            NbdServer.start(
                Endpoint.unix(dir.resolve("ro.sock")),
                disk,
                NbdServerOptions.DEFAULTS.withReadOnly(true))) {
      String before = Buffers.sha256(disk);
      String u = uri(server.endpoint());
      assertThat(Peer.run(MAX, nbdinfo, u)).contains("is_read_only: true");
      ProcessBuilder pb =
          new ProcessBuilder(qemuIo, "-f", "raw", "-c", "write -P 0x11 0 4k", u)
              .redirectErrorStream(true);
      Process p = pb.start();
      String text = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      // qemu opens the image read-write and is refused: the export says READ_ONLY.
      assertThat(text).contains("Permission denied");
      assertThat(p.exitValue()).isNotZero();
      try (NbdClient c =
          NbdClient.open(
              new NbdTarget(server.endpoint(), "", false), Duration.ofSeconds(5), false)) {
        assertThat(c.isReadOnly()).isTrue();
      }
      assertThat(Buffers.sha256(disk)).isEqualTo(before);
    } catch (IOException e) {
      throw e;
    }
  }
}
