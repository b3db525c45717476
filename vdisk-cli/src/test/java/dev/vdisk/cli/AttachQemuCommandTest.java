package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.UnixMsgSocket;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vdisk attach-qemu}'s command line and exit statuses. A scripted QMP peer stands in for
 * QEMU (the real-QEMU guests are vdisk-qemu's integration tests): it takes the socket end through
 * {@code getfd}, reads the device's vendor and device IDs through it during {@code device_add} like
 * the proxy's realize does, and then "exits" by closing that socket.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AttachQemuCommandTest {
  @TempDir Path dir;

  private final StringWriter err = new StringWriter();
  private final StringWriter out = new StringWriter();

  private int run(String... args) {
    CommandLine cl = Vdisk.commandLine();
    cl.setErr(new PrintWriter(err, true));
    cl.setOut(new PrintWriter(out, true));
    return cl.execute(args);
  }

  @Test
  void helpShowsTheQemuCommandLine() {
    assertThat(run("attach-qemu", "--help")).isZero();
    assertThat(out.toString())
        .contains("--qmp=PATH", "--file=IMAGE", "--ram=SIZE", "--disk=URI", "--read-only")
        .contains("--id=NAME", "--profile=default|aero")
        .contains("memory-backend-memfd,id=mem,size=256M", "-machine pc,memory-backend=mem")
        .contains("-qmp unix:/tmp/vdisk-qmp.sock,server=on,wait=off -S")
        .contains("pcie-root-port,id=vdisk-port", "irqpoll nolapic pci=nomsi");
  }

  @Test
  void exactlyOneDiskIsRequired() {
    assertThat(run("attach-qemu", "--qmp", "/x")).isEqualTo(2);
    assertThat(run("attach-qemu", "--qmp", "/x", "--file", "a", "--ram", "1M")).isEqualTo(2);
    assertThat(run("attach-qemu", "--file", "a")).as("--qmp is required").isEqualTo(2);
  }

  @Test
  void badArgumentsAreOneLineAndStatusTwoBeforeQemuIsContacted() {
    // The QMP path does not exist: each error below must come before any attempt to connect.
    String qmp = dir.resolve("never.sock").toString();
    assertThat(run("attach-qemu", "--qmp", qmp, "--ram", "1M", "--profile", "fast")).isEqualTo(2);
    assertThat(run("attach-qemu", "--qmp", qmp, "--ram", "1M", "--read-only", "--profile", "aero"))
        .isEqualTo(2);
    assertThat(run("attach-qemu", "--qmp", qmp, "--ram", "lots")).isEqualTo(2);
    assertThat(run("attach-qemu", "--qmp", qmp, "--ram", "0")).isEqualTo(2);
    assertThat(run("attach-qemu", "--qmp", qmp, "--ram", "1M", "--id", "9lives")).isEqualTo(2);
    List<String> lines = err.toString().lines().toList();
    assertThat(lines).hasSize(5).allMatch(l -> l.startsWith("vdisk attach-qemu: "));
    assertThat(lines.get(0)).contains("--profile: profile 'fast' (expected: default or aero)");
    assertThat(lines.get(1)).contains("read-only disk with --profile aero");
    assertThat(lines.get(2)).contains("--ram lots");
    assertThat(lines.get(3)).contains("--ram 0");
    assertThat(lines.get(4)).contains("--id: device id '9lives'");
    assertThat(err.toString()).doesNotContain("QMP");
  }

  @Test
  void unreachableQemuIsOneLineAndNonZero() {
    Path missing = dir.resolve("no.sock");
    assertThat(run("attach-qemu", "--qmp", missing.toString(), "--ram", "1M")).isEqualTo(1);
    assertThat(err.toString().strip())
        .startsWith("vdisk attach-qemu: cannot reach QEMU's QMP socket " + missing)
        .doesNotContain("\n");
  }

  @Test
  void servesUntilQemuExitsThenExitsZero() throws Exception {
    Path sock = dir.resolve("qmp.sock");
    FakeQemu qemu = FakeQemu.start(sock, false);
    int rc = run("attach-qemu", "--qmp", sock.toString(), "--ram", "1M", "--id", "disk7");
    qemu.join();
    assertThat(rc).as(err.toString()).isZero();
    assertThat(qemu.commands)
        .containsExactly("qmp_capabilities", "getfd", "device_add", "query-status", "cont");
    assertThat(qemu.ids)
        .as("vendor and device read through the proxy socket")
        .containsExactly(0x1af4L, 0x1042L);
    assertThat(qemu.deviceAdd.get()).contains("\"driver\":\"x-pci-proxy-dev\"", "\"id\":\"disk7\"");
    assertThat(err.toString()).contains("attached disk7", "QEMU closed the connection");
  }

  @Test
  void refusedDeviceIsOneLineAndNonZero() throws Exception {
    Path sock = dir.resolve("qmp.sock");
    FakeQemu qemu = FakeQemu.start(sock, true);
    int rc = run("attach-qemu", "--qmp", sock.toString(), "--ram", "1M");
    qemu.join();
    assertThat(rc).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo("vdisk attach-qemu: QEMU refused device_add: Duplicate device ID 'vdisk0'");
  }

  /** A scripted QMP server on a Unix socket, with just enough of the proxy to realize. */
  static final class FakeQemu {
    final List<String> commands = new CopyOnWriteArrayList<>();
    final List<Long> ids = new CopyOnWriteArrayList<>();
    final AtomicReference<String> deviceAdd = new AtomicReference<>();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private Thread thread;

    static FakeQemu start(Path path, boolean refuse) throws IOException {
      FakeQemu q = new FakeQemu();
      int listen = Posix.listenUnix(path.toString());
      q.thread =
          new Thread(
              () -> {
                try {
                  q.serve(listen, refuse);
                } catch (Throwable t) {
                  q.failure.set(t);
                } finally {
                  Posix.closeQuietly(listen);
                }
              },
              "fake-qemu");
      q.thread.setDaemon(true);
      q.thread.start();
      return q;
    }

    void join() throws InterruptedException {
      thread.join(30_000);
      assertThat(thread.isAlive()).isFalse();
      assertThat(failure.get()).isNull();
    }

    private void serve(int listen, boolean refuse) throws IOException {
      int fd = Posix.accept(listen);
      UnixMsgSocket qmp = new UnixMsgSocket(fd);
      int proxy = -1;
      try {
        send(
            qmp,
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}");
        StringBuilder line = new StringBuilder();
        int[] fds = new int[UnixMsgSocket.MAX_FDS];
        try (Memory buf = new Memory(1)) {
          while (true) {
            int n = qmp.receive(buf, 0, 1, fds, 0);
            if (n == 0) {
              return;
            }
            if (qmp.lastFdCount() > 0) {
              proxy = fds[0];
            }
            char c = (char) buf.getByte(0);
            if (c != '\n') {
              line.append(c);
              continue;
            }
            String request = line.toString();
            line.setLength(0);
            String cmd = request.replaceAll(".*\"execute\":\"([^\"]+)\".*", "$1");
            commands.add(cmd);
            switch (cmd) {
              case "device_add" -> {
                deviceAdd.set(request);
                send(qmp, "{\"event\": \"SOMETHING\", \"data\": {}}");
                if (refuse) {
                  send(
                      qmp,
                      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate device ID 'vdisk0'\"}}");
                } else {
                  UnixMsgSocket p = new UnixMsgSocket(proxy);
                  ids.add(cfgRead(p, 0x00));
                  ids.add(cfgRead(p, 0x02));
                  send(qmp, "{\"return\": {}}");
                }
              }
              case "query-status" ->
                  send(qmp, "{\"return\": {\"status\": \"prelaunch\", \"running\": false}}");
              case "cont" -> {
                send(qmp, "{\"return\": {}}");
                Posix.closeQuietly(proxy); // QEMU exits
                proxy = -1;
              }
              default -> send(qmp, "{\"return\": {}}");
            }
          }
        }
      } finally {
        Posix.closeQuietly(proxy);
        qmp.close();
      }
    }

    private static void send(UnixMsgSocket s, String json) throws IOException {
      byte[] b = (json + "\n").getBytes(StandardCharsets.UTF_8);
      try (Memory m = new Memory(b.length)) {
        m.write(0, b, 0, b.length);
        s.send(m, b.length, null, 0);
      }
    }

    /** PCI_CFGREAD {addr, 0, len 2} exactly as QEMU 7.2 lays it out; returns the RET value. */
    private static long cfgRead(UnixMsgSocket p, int addr) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
      b.putInt(3).putInt(0).putLong(12).putInt(addr).putInt(0).putInt(2);
      try (Memory m = new Memory(28);
          Memory r = new Memory(24)) {
        m.write(0, b.array(), 0, 28);
        p.send(m, 28, null, 0);
        int got = 0;
        int[] none = new int[UnixMsgSocket.MAX_FDS];
        while (got < 24) {
          int n = p.receive(r, got, 24 - got, none, 0);
          if (n == 0) {
            throw new IOException("remote closed");
          }
          got += n;
        }
        return r.getLong(16);
      }
    }
  }
}
