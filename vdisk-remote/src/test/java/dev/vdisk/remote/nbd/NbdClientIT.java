package dev.vdisk.remote.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.testing.Buffers;
import dev.vdisk.remote.testing.CompletionLatch;
import dev.vdisk.remote.testing.Peer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The NBD client against real servers: nbdkit (memory, file), qemu-nbd and nbd-server. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NbdClientIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  private Peer nbdkit(Endpoint ep, String... pluginArgs) throws Exception {
    String nbdkit = Peer.requireTool("nbdkit", "nbdkit");
    List<String> cmd = new ArrayList<>(List.of(nbdkit, "-f", "--exit-with-parent"));
    if (ep.isUnix()) {
      cmd.addAll(List.of("-U", ep.unixPath().toString()));
    } else {
      cmd.addAll(List.of("-i", ep.host(), "-p", Integer.toString(ep.port())));
    }
    cmd.addAll(List.of(pluginArgs));
    return Peer.start("nbdkit", cmd, ep, dir);
  }

  private Endpoint unix(String name) {
    return Endpoint.unix(dir.resolve(name));
  }

  private static Endpoint tcp() throws Exception {
    return Endpoint.tcp("127.0.0.1", Peer.freePort());
  }

  /** Writes the whole device with random data at queue depth 32 and returns what was written. */
  private static byte[] fillAsync(NbdClient c, long seed) throws Exception {
    int size = (int) c.size();
    BytesStore<?, Void> src = Buffers.random(size, seed);
    try {
      int chunk = 256 * 1024;
      int n = size / chunk;
      CompletionLatch completion = new CompletionLatch(n);
      for (int i = 0; i < n; i++) {
        c.submit(
            AsyncBlockDevice.OP_WRITE,
            (long) i * chunk,
            src,
            (long) i * chunk,
            chunk,
            i,
            completion);
      }
      completion.assertAllSucceededWithin(60);
      c.flush();
      return Buffers.bytes(src, 0, size);
    } finally {
      src.releaseLast();
    }
  }

  @Test
  void nbdkitMemoryOverUnixSocketRoundTripsAndAnotherClientSeesTheWrites() throws Exception {
    Endpoint ep = unix("mem.sock");
    try (Peer server = nbdkit(ep, "memory", "16M");
        NbdClient c = NbdClient.open(new NbdTarget(ep, "", false), TIMEOUT, false)) {
      assertThat(c.size()).isEqualTo(16 * MIB);
      assertThat(c.exportInfo().structuredReplies()).isTrue();
      assertThat(c.exportInfo().allocationContext()).isNotNegative();
      // A fresh memory export is one hole that reads as zeroes.
      assertThat(c.extent(0, c.size())).isEqualTo(-c.size());
      byte[] written = fillAsync(c, 1);
      assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(written));
      assertThat(c.extent(0, c.size())).isPositive();
      // Another client (libnbd's nbdcopy) reads back what this one wrote.
      Path copy = dir.resolve("copy.img");
      Peer.run(
          Duration.ofSeconds(60),
          Peer.requireTool("nbdcopy", "libnbd-bin"),
          "nbd+unix:///?socket=" + ep.unixPath(),
          copy.toString());
      assertThat(Buffers.sha256(copy)).isEqualTo(Buffers.sha256(written));
      // Zeroes and trim.
      c.writeZeroes(MIB, MIB, false);
      c.discard(4 * MIB, 2 * MIB);
      BytesStore<?, Void> buf = Buffers.zeroed(MIB);
      try {
        c.read(MIB, buf, 0, MIB);
        assertThat(Buffers.bytes(buf, 0, MIB)).containsOnly(0);
      } finally {
        buf.releaseLast();
      }
    }
  }

  @Test
  void nbdkitFilePluginOverTcpMatchesTheFileAndWritesLand() throws Exception {
    Path image = dir.resolve("disk.img");
    byte[] content = new byte[8 * MIB];
    new Random(7).nextBytes(content);
    Files.write(image, content);
    Endpoint ep = tcp();
    try (Peer server = nbdkit(ep, "file", image.toString());
        NbdClient c =
            NbdClient.open(
                NbdTarget.parse(java.net.URI.create("nbd://127.0.0.1:" + ep.port())),
                TIMEOUT,
                false)) {
      assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(content));
      BytesStore<?, Void> src = Buffers.random(64 * 1024, 9);
      try {
        c.writeFua(3 * MIB, src, 0, 64 * 1024);
        byte[] after = Files.readAllBytes(image);
        assertThat(java.util.Arrays.copyOfRange(after, 3 * MIB, 3 * MIB + 64 * 1024))
            .isEqualTo(Buffers.bytes(src, 0, 64 * 1024));
      } finally {
        src.releaseLast();
      }
    }
  }

  @Test
  void qemuNbdServesWholeDiskChecksumsAndWritesReadBackByQemuImg() throws Exception {
    String qemuNbd = Peer.requireTool("qemu-nbd", "qemu-utils");
    Path image = dir.resolve("q.img");
    byte[] content = new byte[8 * MIB];
    new Random(11).nextBytes(content);
    Files.write(image, content);
    Endpoint ep = unix("q.sock");
    try (Peer server =
            Peer.start(
                "qemu-nbd",
                List.of(
                    qemuNbd,
                    "-f",
                    "raw",
                    "-t",
                    "-e",
                    "8",
                    "-k",
                    ep.unixPath().toString(),
                    image.toString()),
                ep,
                dir);
        NbdClient c = NbdClient.open(new NbdTarget(ep, "", false), TIMEOUT, false)) {
      assertThat(c.exportInfo().structuredReplies()).isTrue();
      assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(content));
      byte[] written = fillAsync(c, 12);
      Path out = dir.resolve("q-out.raw");
      Peer.run(
          Duration.ofSeconds(60),
          Peer.requireTool("qemu-img", "qemu-utils"),
          "convert",
          "-f",
          "raw",
          "-O",
          "raw",
          "nbd+unix:///?socket=" + ep.unixPath(),
          out.toString());
      assertThat(Buffers.sha256(out)).isEqualTo(Buffers.sha256(written));
    }
  }

  @Test
  void nbdServerWithSimpleRepliesOnly() throws Exception {
    String nbdServer = Peer.requireTool("nbd-server", "nbd-server");
    Path image = dir.resolve("n.img");
    byte[] content = new byte[4 * MIB];
    new Random(13).nextBytes(content);
    Files.write(image, content);
    int port = Peer.freePort();
    Path conf = dir.resolve("nbd.conf");
    Files.writeString(
        conf,
        "[generic]\n"
            + "listenaddr = 127.0.0.1\n"
            + "port = "
            + port
            + "\n"
            + "allowlist = true\n"
            + "[disk]\n"
            + "exportname = "
            + image
            + "\n");
    Endpoint ep = Endpoint.tcp("127.0.0.1", port);
    try (Peer server =
            Peer.start(
                "nbd-server", List.of(nbdServer, "-d", "-C", conf.toString()), ep, dir, false);
        NbdClient c = NbdClient.open(new NbdTarget(ep, "disk", false), TIMEOUT, false)) {
      assertThat(c.exportInfo().structuredReplies()).isFalse();
      assertThat(c.size()).isEqualTo(4 * MIB);
      assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(content));
      byte[] written = fillAsync(c, 14);
      assertThat(Buffers.sha256(Files.readAllBytes(image))).isEqualTo(Buffers.sha256(written));
    }
  }

  @Test
  void errorFilterFailuresAreCleanIoErrorsAndNothingIsWritten() throws Exception {
    Path trigger = dir.resolve("fail-writes");
    Endpoint ep = unix("err.sock");
    try (Peer server =
            nbdkit(
                ep,
                "--filter=error",
                "memory",
                "4M",
                "error-pwrite=EIO",
                "error-pwrite-rate=100%",
                "error-pwrite-file=" + trigger);
        NbdClient c = NbdClient.open(new NbdTarget(ep, "", false), TIMEOUT, false)) {
      BytesStore<?, Void> src = Buffers.random(64 * 1024, 3);
      BytesStore<?, Void> back = Buffers.zeroed(64 * 1024);
      try {
        c.write(0, src, 0, 64 * 1024);
        Files.createFile(trigger);
        BytesStore<?, Void> other = Buffers.random(64 * 1024, 4);
        try {
          assertThatThrownBy(() -> c.write(0, other, 0, 64 * 1024))
              .isInstanceOf(BlockDeviceException.class)
              .hasMessageContaining("EIO")
              .satisfies(
                  e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.IO_ERROR));
        } finally {
          other.releaseLast();
        }
        c.read(0, back, 0, 64 * 1024);
        assertThat(Buffers.bytes(back, 0, 64 * 1024)).isEqualTo(Buffers.bytes(src, 0, 64 * 1024));
      } finally {
        src.releaseLast();
        back.releaseLast();
      }
    }
  }

  @Test
  void delayFilterBeyondTheTimeoutIsATimeoutAndTheDeviceCarriesOn() throws Exception {
    Endpoint ep = unix("delay.sock");
    Path trigger = dir.resolve("slow");
    try (Peer server = nbdkit(ep, "--filter=delay", "memory", "4M", "delay-read=3");
        NbdClient c = NbdClient.open(new NbdTarget(ep, "", false), Duration.ofSeconds(1), false)) {
      BytesStore<?, Void> buf = Buffers.zeroed(4096);
      try {
        assertThatThrownBy(() -> c.read(0, buf, 0, 4096))
            .isInstanceOf(BlockDeviceException.class)
            .satisfies(
                e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.TIMEOUT));
        // Writes are not delayed: the connection still works for them after the timeout.
        c.write(0, buf, 0, 4096);
      } finally {
        buf.releaseLast();
      }
    }
    assertThat(trigger).doesNotExist();
  }

  @Test
  void killedServerAndRestartedOneCarryOn() throws Exception {
    Path image = dir.resolve("k.img");
    byte[] content = new byte[4 * MIB];
    new Random(21).nextBytes(content);
    Files.write(image, content);
    Endpoint ep = unix("k.sock");
    Peer server = nbdkit(ep, "file", image.toString());
    try (NbdClient c =
        NbdClient.open(new NbdTarget(ep, "", false), Duration.ofSeconds(20), false)) {
      assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(content));
      server.close();
      // Reads issued while the server is down are retried once it is back.
      AtomicInteger ok = new AtomicInteger();
      BytesStore<?, Void> buf = Buffers.zeroed(MIB);
      try {
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<BlockDeviceException> err = new AtomicReference<>();
        c.submit(
            AsyncBlockDevice.OP_READ,
            MIB,
            buf,
            0,
            MIB,
            1,
            (t, e) -> {
              err.set(e);
              if (e == null) {
                ok.incrementAndGet();
              }
              done.countDown();
            });
        Thread.sleep(500);
        Files.deleteIfExists(ep.unixPath());
        server = nbdkit(ep, "file", image.toString());
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(err.get()).isNull();
        assertThat(Buffers.bytes(buf, 0, MIB))
            .isEqualTo(java.util.Arrays.copyOfRange(content, MIB, 2 * MIB));
        c.write(0, buf, 0, MIB);
        c.flush();
      } finally {
        buf.releaseLast();
      }
      assertThat(ok.get()).isEqualTo(1);
    } finally {
      server.close();
    }
  }
}
