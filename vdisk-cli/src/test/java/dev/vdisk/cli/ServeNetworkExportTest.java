package dev.vdisk.cli;

import static dev.vdisk.cli.ServeCommandTest.awaitSocket;
import static dev.vdisk.cli.ServeCommandTest.refused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDevices;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.nbd.NbdServer;
import dev.vdisk.remote.nbd.NbdServerOptions;
import dev.vdisk.vhost.VhostUserRequest;
import dev.vdisk.vhost.testing.VhostUserTestClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vdisk serve --disk URI --nbd ... --nbd-socket ... --imdisk-proxy ... --imdisk-proxy-socket
 * ...}: one disk exported to network clients, with or without the vhost-user socket, run in-process
 * and driven by vdisk's own NBD and ImDisk clients.
 */
class ServeNetworkExportTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  /** A running {@code vdisk serve}, its output and a way to stop it. */
  record Serving(ServeCommand command, CompletableFuture<Integer> exit, StringWriter out) {
    int stop() throws Exception {
      command.requestStop();
      return exit.get(30, TimeUnit.SECONDS);
    }

    /** The URI printed for an export ("exported as NBD nbd://127.0.0.1:PORT"). */
    String printed(String regex) throws InterruptedException {
      Pattern p = Pattern.compile(regex);
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (System.nanoTime() < deadline) {
        Matcher m = p.matcher(out.toString());
        if (m.find()) {
          return m.group(1);
        }
        assertThat(exit.isDone()).as("serve exited early: %s", out).isFalse();
        Thread.sleep(20);
      }
      throw new AssertionError("serve never printed /" + regex + "/; printed: " + out);
    }
  }

  static Serving serve(String... args) {
    CommandLine cl = Vdisk.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    ServeCommand command = cl.getSubcommands().get("serve").getCommand();
    String[] all = new String[args.length + 1];
    all[0] = "serve";
    System.arraycopy(args, 0, all, 1, args.length);
    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cl.execute(all));
    return new Serving(command, exit, out);
  }

  private static void fill(BlockDevice d, long offset, int length, int seed) throws IOException {
    BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(length);
    try {
      for (int i = 0; i < length; i++) {
        b.writeByte(i, (byte) (i * 31 + seed));
      }
      d.write(offset, b, 0, length);
    } finally {
      b.releaseLast();
    }
  }

  private static void expect(BlockDevice d, long offset, int length, int seed) throws IOException {
    BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(length);
    try {
      d.read(offset, b, 0, length);
      for (int i = 0; i < length; i++) {
        if (b.readByte(i) != (byte) (i * 31 + seed)) {
          throw new AssertionError("byte " + (offset + i) + " differs (seed " + seed + ")");
        }
      }
    } finally {
      b.releaseLast();
    }
  }

  @Test
  void oneDiskOverNbdTcpAndUnixAndImDiskTcpAndUnixWithoutVhostUser() throws Exception {
    Path nbdSock = dir.resolve("nbd.sock");
    Path imdiskSock = dir.resolve("imdisk.sock");
    Serving s =
        serve(
            "--disk",
            "ram:16M",
            "--nbd",
            "127.0.0.1:0",
            "--nbd-socket",
            nbdSock.toString(),
            "--imdisk-proxy",
            "127.0.0.1:0",
            "--imdisk-proxy-socket",
            imdiskSock.toString());
    try {
      String nbdTcp = s.printed("exported as NBD (nbd://127\\.0\\.0\\.1:\\d+)");
      String nbdUnix = s.printed("exported as NBD (nbd\\+unix:///\\?socket=\\S+)");
      String imdiskTcp = s.printed("exported as ImDisk proxy (imdisk://127\\.0\\.0\\.1:\\d+)");
      String imdiskUnix = s.printed("exported as ImDisk proxy (imdisk\\+unix://\\S+)");
      assertThat(nbdUnix).isEqualTo("nbd+unix:///?socket=" + nbdSock);
      assertThat(imdiskUnix).isEqualTo("imdisk+unix://" + imdiskSock);
      assertThat(s.out().toString())
          .contains("serving disk ram:16M, 16.0 MiB (16777216 bytes), 512-byte blocks\n")
          .doesNotContain("vhost-user")
          .doesNotContain("-device");
      // Each front end writes its own MiB; every other front end reads all of them back.
      String[] uris = {nbdTcp, nbdUnix, imdiskTcp, imdiskUnix};
      for (int i = 0; i < uris.length; i++) {
        try (BlockDevice d = BlockDevices.open(uris[i])) {
          assertThat(d.size()).isEqualTo(16L * MIB);
          fill(d, (long) i * MIB, MIB, i);
          d.flush();
        }
      }
      for (String uri : uris) {
        try (BlockDevice d = BlockDevices.open(uri)) {
          for (int i = 0; i < uris.length; i++) {
            expect(d, (long) i * MIB, MIB, i);
          }
        }
      }
    } finally {
      assertThat(s.stop()).isZero();
    }
    assertThat(s.out().toString()).contains("vdisk serve: stopped after");
    assertThat(Files.exists(nbdSock)).isFalse();
  }

  @Test
  void remoteNbdDiskServedOverVhostUserAndReExportedReadOnly() throws Exception {
    try (RamDisk backing = RamDisk.create(8L * MIB);
        NbdServer upstream =
            NbdServer.start(
                Endpoint.unix(dir.resolve("up.sock")), backing, NbdServerOptions.DEFAULTS)) {
      fill(backing, 3L * MIB, MIB, 7);
      Path vhostSock = dir.resolve("vhost.sock");
      Path nbdSock = dir.resolve("re.sock");
      Serving s =
          serve(
              "--socket",
              vhostSock.toString(),
              "--disk",
              "nbd+unix:///?socket=" + upstream.endpoint().unixPath(),
              "--read-only",
              "--nbd-socket",
              nbdSock.toString(),
              "--export-name",
              "re");
      try {
        String uri = s.printed("exported as NBD (\\S+)");
        assertThat(uri).isEqualTo("nbd+unix:///re?socket=" + nbdSock);
        awaitSocket(vhostSock);
        assertThat(s.out().toString())
            .contains("on " + vhostSock)
            .contains("read-only, 1 queue")
            .contains("exported as vhost-user " + vhostSock)
            .contains("-device vhost-user-blk-pci");
        try (VhostUserTestClient c = VhostUserTestClient.connect(vhostSock)) {
          assertThat(c.getU64(VhostUserRequest.GET_QUEUE_NUM)).isEqualTo(1);
        }
        try (BlockDevice d = BlockDevices.open(uri)) {
          assertThat(d.isReadOnly()).isTrue();
          assertThat(d.size()).isEqualTo(8L * MIB);
          expect(d, 3L * MIB, MIB, 7);
        }
        // The export is read-only at the server too, not only in the client's flags.
        try (BlockDevice d =
            BlockDevices.open(
                uri.replace("re?", "?"), dev.vdisk.api.OpenOptions.DEFAULTS.withReadOnly(false))) {
          assertThatThrownBy(() -> fill(d, 0, 4096, 1)).isInstanceOf(IOException.class);
        }
      } finally {
        assertThat(s.stop()).isZero();
      }
      assertThat(s.out().toString()).contains("vhost-user: 1 connections");
      assertThat(Files.exists(vhostSock)).isFalse();
    }
  }

  @Test
  void windowAndByteSwapApplyToARemoteDiskAndInfoShowsThem() throws Exception {
    try (RamDisk backing = RamDisk.create(8L * MIB);
        NbdServer upstream =
            NbdServer.start(
                Endpoint.unix(dir.resolve("up.sock")), backing, NbdServerOptions.DEFAULTS)) {
      fill(backing, 3L * MIB, MIB, 5);
      String up = "nbd+unix:///?socket=" + upstream.endpoint().unixPath();
      Serving s =
          serve(
              "--disk",
              up,
              "--offset",
              "3M",
              "--length",
              "2M",
              "--byte-swap",
              "--nbd-socket",
              dir.resolve("w.sock").toString());
      try {
        String uri = s.printed("exported as NBD (\\S+)");
        try (BlockDevice d = BlockDevices.open(uri)) {
          assertThat(d.size()).isEqualTo(2L * MIB);
          BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(4096);
          try {
            d.read(0, b, 0, 4096);
            for (int i = 0; i < 4096; i++) {
              // Byte i of the window is byte i^1 of the disk at 3 MiB: 16-bit words swapped.
              assertThat(b.readByte(i)).as("byte %d", i).isEqualTo((byte) ((i ^ 1) * 31 + 5));
            }
          } finally {
            b.releaseLast();
          }
        }
      } finally {
        assertThat(s.stop()).isZero();
      }

      ServeCommandTest.Run info =
          ServeCommandTest.run("info", "--offset", "1M", "--length", "2M", "--read-only", up);
      assertThat(info.exit()).as(info.err()).isZero();
      assertThat(info.out()).contains("2097152").containsPattern("read.only:\\s+(yes|true)");
      refused(
          "window offset 9437184 (expected < the device size 8388608)",
          "info",
          "--offset",
          "9M",
          up);
      refused("--length 0 (expected > 0)", "info", "--length", "0", up);
    }
  }

  @Test
  void badNetworkOptionsAreRefusedInOneLine() {
    String sock = dir.resolve("s").toString();
    refused(
        "--disk and --ram are exclusive",
        "serve",
        "--disk",
        "ram:1M",
        "--ram",
        "1M",
        "--nbd",
        ":0");
    refused("--nbd: port '99999' in '127.0.0.1:99999'", "serve", "--nbd", "127.0.0.1:99999");
    refused("--imdisk-proxy: address ':9000' has no host", "serve", "--imdisk-proxy", ":9000");
    refused(
        "socket path " + sock + " is named twice",
        "serve",
        "--nbd-socket",
        sock,
        "--imdisk-proxy-socket",
        sock);
    refused("--timeout 0 (expected >= 1)", "serve", "--disk", "ram:1M", "--timeout", "0");
    refused(
        "--disk nope:1M: ",
        "serve",
        "--disk",
        "nope:1M",
        "--nbd-socket",
        dir.resolve("n").toString());
    refused(
        "cannot connect",
        "serve",
        "--disk",
        "nbd+unix:///?socket=" + dir.resolve("nobody.sock"),
        "--timeout",
        "1",
        "--nbd-socket",
        dir.resolve("n").toString());
  }
}
