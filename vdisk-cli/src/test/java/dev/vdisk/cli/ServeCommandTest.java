package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.vhost.VhostUserRequest;
import dev.vdisk.vhost.testing.VhostUserTestClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServeCommandTest {
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  static Run run(String... args) {
    CommandLine cl = Vdisk.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** A bad argument: non-zero exit and exactly one line on stderr naming the problem. */
  static void refused(String expected, String... args) {
    Run r = run(args);
    assertThat(r.exit()).as(r.err()).isNotZero();
    assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains(expected);
  }

  @Test
  void missingImageIsRefused() {
    Path img = dir.resolve("missing.img");
    refused(
        "vdisk serve: --file " + img + ": no such file (add --create SIZE to make a new image)",
        "serve",
        "--socket",
        dir.resolve("s").toString(),
        "--file",
        img.toString());
  }

  @Test
  void sizeNotAMultipleOfTheBlockSizeIsRefused() {
    refused(
        "--ram 1000 is 1000 bytes (expected a positive multiple of the block size 512)",
        "serve",
        "--socket",
        dir.resolve("s").toString(),
        "--ram",
        "1000");
    refused(
        "--create 6K is 6144 bytes (expected a positive multiple of the block size 4096)",
        "serve",
        "--socket",
        dir.resolve("s").toString(),
        "--block-size",
        "4096",
        "--file",
        dir.resolve("new.img").toString(),
        "--create",
        "6K");
  }

  @Test
  void imageWhoseSizeIsNotAMultipleOfTheBlockSizeIsRefused() throws Exception {
    Path img = dir.resolve("odd.img");
    Files.write(img, new byte[6144]);
    refused(
        "--file " + img + ": ",
        "serve",
        "--socket",
        dir.resolve("s").toString(),
        "--block-size",
        "4096",
        "--file",
        img.toString());
  }

  @Test
  void malformedSizesAndOptionsAreRefused() {
    String s = dir.resolve("s").toString();
    refused("--ram: size '12X'", "serve", "--socket", s, "--ram", "12X");
    refused(
        "--block-size 1024 (expected 512 or 4096)", "serve", "--socket", s, "--block-size", "1024");
    refused(
        "--file and --ram are exclusive",
        "serve",
        "--socket",
        s,
        "--ram",
        "1G",
        "--file",
        dir.resolve("x").toString());
    refused("--create SIZE needs --file IMAGE", "serve", "--socket", s, "--create", "1G");
    refused(
        "--queue-size 100 (expected a power of two", "serve", "--socket", s, "--queue-size", "100");
    refused("--queues 0 (expected 1..64)", "serve", "--socket", s, "--queues", "0");
    refused("Unknown option: '--frobnicate'", "serve", "--frobnicate");
  }

  @Test
  void createRefusesToOverwrite() throws Exception {
    Path img = dir.resolve("exists.img");
    Files.write(img, new byte[512]);
    refused(
        "--create: " + img + " already exists",
        "serve",
        "--socket",
        dir.resolve("s").toString(),
        "--file",
        img.toString(),
        "--create",
        "1M");
  }

  @Test
  void socketInUseByALiveServerIsRefused() throws Exception {
    Path sock = dir.resolve("live.sock");
    CommandLine first = Vdisk.commandLine();
    StringWriter out = new StringWriter();
    first.setOut(new PrintWriter(out, true));
    ServeCommand serve = first.getSubcommands().get("serve").getCommand();
    CompletableFuture<Integer> running =
        CompletableFuture.supplyAsync(
            () -> first.execute("serve", "--socket", sock.toString(), "--ram", "16M"));
    awaitSocket(sock);
    refused(
        "socket path " + sock + " is in use by a live server",
        "serve",
        "--socket",
        sock.toString(),
        "--ram",
        "16M");
    serve.requestStop();
    assertThat(running.get(30, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void servesUntilStoppedThenPrintsStatistics() throws Exception {
    Path sock = dir.resolve("vdisk.sock");
    CommandLine cl = Vdisk.commandLine();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    CompletableFuture<Integer> running =
        CompletableFuture.supplyAsync(
            () ->
                cl.execute(
                    "serve", "--socket", sock.toString(), "--queues", "2", "--serial", "abc"));
    awaitSocket(sock);
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      assertThat(c.getU64(VhostUserRequest.GET_QUEUE_NUM)).isEqualTo(2);
    }
    serve.requestStop();
    assertThat(running.get(30, TimeUnit.SECONDS)).isZero();
    String o = out.toString();
    assertThat(o)
        .contains("serving RAM disk, 1.0 GiB (1073741824 bytes), 512-byte blocks, 2 queues");
    assertThat(o)
        .contains(
            "-chardev socket,id=vdisk0,path="
                + sock
                + ",reconnect=1"
                + " -device vhost-user-blk-pci-non-transitional,chardev=vdisk0,num-queues=2");
    assertThat(o).contains("memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem");
    assertThat(o).contains("vhost-user: 1 connections (0 closed for protocol errors), 1 messages");
    assertThat(o).contains("queue 1: 0 reads");
    assertThat(Files.exists(sock)).isFalse();
  }

  @Test
  void defaultSocketIsTmpVdiskSock() {
    CommandLine cl = Vdisk.commandLine();
    cl.parseArgs("serve");
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    assertThat(serve.socket).isEqualTo(Path.of("/tmp/vdisk.sock"));
  }

  static void awaitSocket(Path sock) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!Files.exists(sock)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("server never bound " + sock);
      }
      Thread.sleep(20);
    }
  }
}
