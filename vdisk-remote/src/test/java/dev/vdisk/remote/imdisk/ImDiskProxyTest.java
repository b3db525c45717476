package dev.vdisk.remote.imdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.io.Streams;
import dev.vdisk.remote.testing.Buffers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ImDisk proxy message byte for byte (client requests captured by a scripted server, server
 * responses read by a raw client), the client against vdisk's own server, and bad input.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ImDiskProxyTest {
  private static final Duration T = Duration.ofSeconds(2);

  @TempDir Path dir;

  private static String hex(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.get(a);
    return HexFormat.of().formatHex(a);
  }

  private static String u64(long v) {
    return hex(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).flip());
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static ByteBuffer read(SocketChannel ch, int n) throws IOException {
    ByteBuffer b = le(n);
    Streams.readFully(ch, b, "test");
    return b.flip();
  }

  private static void send(SocketChannel ch, ByteBuffer b) throws IOException {
    Streams.writeFully(ch, b.flip());
  }

  /** A one-connection scripted server. */
  private Thread serve(ServerSocketChannel l, Script s, AtomicReference<Throwable> failure) {
    Thread t =
        new Thread(
            () -> {
              try (SocketChannel ch = l.accept()) {
                s.run(ch);
              } catch (Throwable e) {
                failure.set(e);
              }
            });
    t.setDaemon(true);
    t.start();
    return t;
  }

  interface Script {
    void run(SocketChannel ch) throws Exception;
  }

  /** Reads INFO and answers size/alignment/flags. */
  private static void info(SocketChannel ch, long size, long align, long flags) throws IOException {
    assertThat(hex(read(ch, 8))).isEqualTo("0100000000000000");
    send(ch, le(24).putLong(size).putLong(align).putLong(flags));
  }

  @Test
  void clientMessagesAreByteExact() throws Exception {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    // The TCP URI form carries a path, which the client sends as CONNECT first.
    try (ServerSocketChannel l = Endpoint.tcp("127.0.0.1", 0).bind(1)) {
      int port = Endpoint.of(l.getLocalAddress()).port();
      Thread t =
          serve(
              l,
              ch -> {
                ByteBuffer h = read(ch, 24);
                assertThat(hex(h)).isEqualTo("0400000000000000" + u64(0) + u64(8));
                assertThat(new String(read(ch, 8).array(), StandardCharsets.UTF_16LE))
                    .isEqualTo("disk");
                send(ch, le(16).putLong(0).putLong(0));
                info(
                    ch,
                    1 << 20,
                    512,
                    ImDiskProtocol.FLAG_SUPPORTS_UNMAP | ImDiskProtocol.FLAG_SUPPORTS_ZERO);
                seen.write(hex(read(ch, 24)).getBytes());
                send(ch, le(16 + 512).putLong(0).putLong(512).put(new byte[512]));
                seen.write(hex(read(ch, 24)).getBytes());
                send(ch, le(16 + 512).putLong(0).putLong(512).put(new byte[512]));
                seen.write(hex(read(ch, 24 + 512)).getBytes());
                send(ch, le(16).putLong(0).putLong(512));
                seen.write(hex(read(ch, 32)).getBytes());
                send(ch, le(8).putLong(0));
                seen.write(hex(read(ch, 32)).getBytes());
                send(ch, le(8).putLong(0));
                seen.write(hex(read(ch, 8)).getBytes());
              },
              failure);
      BytesStore<?, Void> buf = Buffers.random(1024, 1);
      try (ImDiskProxyClient c =
          ImDiskProxyClient.open(
              ImDiskTarget.parse(URI.create("imdisk://127.0.0.1:" + port + "/disk")), T, false)) {
        c.read(4096, buf, 0, 1024);
        c.write(0, buf, 0, 512);
        c.discard(8192, 1024);
        c.writeZeroes(16384, 2048, false);
      } finally {
        buf.releaseLast();
      }
      t.join(5000);
      assertThat(failure.get()).isNull();
      String expected =
          "02"
              + "00".repeat(7)
              + u64(4096)
              + u64(1024)
              + "02"
              + "00".repeat(7)
              + u64(4608)
              + u64(512)
              + "03"
              + "00".repeat(7)
              + u64(0)
              + u64(512)
              + "00".repeat(512)
              + "06"
              + "00".repeat(7)
              + u64(16)
              + u64(8192)
              + u64(1024)
              + "07"
              + "00".repeat(7)
              + u64(16)
              + u64(16384)
              + u64(2048)
              + "05"
              + "00".repeat(7);
      assertThat(seen.toString()).isEqualTo(expected);
    }
  }

  @Test
  void serverResponsesAreByteExact() throws Exception {
    try (RamDisk disk = RamDisk.create(1 << 20);
        ImDiskProxyServer server =
            ImDiskProxyServer.start(Endpoint.unix(dir.resolve("s.sock")), disk, false);
        SocketChannel ch = server.endpoint().connect(T)) {
      // CONNECT first is accepted and answered with two zero u64s.
      byte[] path = "x".getBytes(StandardCharsets.UTF_16LE);
      send(ch, le(24 + 2).putLong(4).putLong(0x2000).putLong(2).put(path));
      assertThat(hex(read(ch, 16))).isEqualTo("00".repeat(16));
      send(ch, le(8).putLong(1));
      assertThat(hex(read(ch, 24))).isEqualTo(u64(1 << 20) + u64(512) + u64(0x6));
      // WRITE 512 bytes of 0xab at 512.
      ByteBuffer w = le(24 + 512).putLong(3).putLong(512).putLong(512);
      for (int i = 0; i < 512; i++) {
        w.put((byte) 0xab);
      }
      send(ch, w);
      assertThat(hex(read(ch, 16))).isEqualTo(u64(0) + u64(512));
      // READ it back.
      send(ch, le(24).putLong(2).putLong(512).putLong(512));
      assertThat(hex(read(ch, 16))).isEqualTo(u64(0) + u64(512));
      assertThat(hex(read(ch, 512))).isEqualTo("ab".repeat(512));
      // READ past the end is clamped to the end, like devio's buffer clamp.
      send(ch, le(24).putLong(2).putLong((1 << 20) - 512).putLong(4096));
      assertThat(hex(read(ch, 16))).isEqualTo(u64(0) + u64(512));
      read(ch, 512);
      // ZERO and UNMAP answer one u64 errno.
      send(ch, le(32).putLong(7).putLong(16).putLong(512).putLong(512));
      assertThat(hex(read(ch, 8))).isEqualTo(u64(0));
      send(ch, le(32).putLong(6).putLong(16).putLong(0).putLong(65536));
      assertThat(hex(read(ch, 8))).isEqualTo(u64(0));
      // An unknown code gets ENODEV (19), then the stream is closed (it cannot stay in step).
      send(ch, le(8).putLong(8));
      assertThat(hex(read(ch, 8))).isEqualTo(u64(19));
      assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
    }
  }

  @Test
  void readOnlyServerAnswersWritesWithEbadfAfterConsumingTheData() throws Exception {
    try (RamDisk disk = RamDisk.create(1 << 20);
        ImDiskProxyServer server =
            ImDiskProxyServer.start(Endpoint.unix(dir.resolve("r.sock")), disk, true);
        SocketChannel ch = server.endpoint().connect(T)) {
      send(ch, le(8).putLong(1));
      assertThat(hex(read(ch, 24))).isEqualTo(u64(1 << 20) + u64(512) + u64(1));
      send(ch, le(24 + 512).putLong(3).putLong(0).putLong(512).put(new byte[512]));
      assertThat(hex(read(ch, 16))).isEqualTo(u64(9) + u64(0));
      // Still in step: INFO again.
      send(ch, le(8).putLong(1));
      assertThat(read(ch, 24).getLong(0)).isEqualTo(1 << 20);
      // CLOSE: no answer, the server closes.
      send(ch, le(8).putLong(5));
      assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
    }
  }

  @Test
  void serverDropsAWriteLongerThanTheDiskAndAHugeRangeList() throws Exception {
    try (RamDisk disk = RamDisk.create(1 << 20);
        ImDiskProxyServer server =
            ImDiskProxyServer.start(Endpoint.unix(dir.resolve("d.sock")), disk, false)) {
      try (SocketChannel ch = server.endpoint().connect(T)) {
        send(ch, le(24).putLong(3).putLong(0).putLong(Long.MIN_VALUE));
        assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
      }
      try (SocketChannel ch = server.endpoint().connect(T)) {
        send(ch, le(16).putLong(6).putLong(-16));
        assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
      }
    }
  }

  @Test
  void clientAgainstVdisksServerOverTcpAndUnix() throws Exception {
    for (Endpoint ep :
        new Endpoint[] {Endpoint.tcp("127.0.0.1", 0), Endpoint.unix(dir.resolve("u.sock"))}) {
      try (RamDisk disk = RamDisk.create(8 << 20);
          ImDiskProxyServer server = ImDiskProxyServer.start(ep, disk, false)) {
        URI uri =
            server.endpoint().isUnix()
                ? URI.create("imdisk+unix://" + server.endpoint().unixPath())
                : URI.create("imdisk://" + server.endpoint());
        byte[] written;
        try (ImDiskProxyClient c =
            (ImDiskProxyClient)
                new ImDiskProvider().open(uri, dev.vdisk.api.OpenOptions.DEFAULTS)) {
          BytesStore<?, Void> src = Buffers.random(8 << 20, 3);
          try {
            c.write(0, src, 0, 8 << 20); // Split into 1 MiB WRITEs.
            written = Buffers.bytes(src, 0, 8 << 20);
          } finally {
            src.releaseLast();
          }
          assertThat(Buffers.sha256(c)).isEqualTo(Buffers.sha256(written));
          c.writeZeroes(1 << 20, 1 << 20, false);
          c.discard(2 << 20, 1 << 20);
        }
        assertThat(Buffers.sha256(disk)).isNotEqualTo(Buffers.sha256(written));
        BytesStore<?, Void> b = Buffers.zeroed(1 << 20);
        try {
          disk.read(1 << 20, b, 0, 1 << 20);
          assertThat(Buffers.bytes(b, 0, 1 << 20)).containsOnly(0);
        } finally {
          b.releaseLast();
        }
      }
    }
  }

  @Test
  void replyLongerThanTheRequestIsAnIoErrorWithoutReadingIt() throws Exception {
    Endpoint ep = Endpoint.unix(dir.resolve("b.sock"));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (ServerSocketChannel l = ep.bind(1)) {
      serve(
          l,
          ch -> {
            info(ch, 1 << 20, 1, 0);
            read(ch, 24);
            send(ch, le(16).putLong(0).putLong(Long.MIN_VALUE)); // 2^63 bytes "follow"
            read(ch, 1); // Wait for the client to hang up.
          },
          failure);
      BytesStore<?, Void> buf = Buffers.zeroed(4096);
      try (ImDiskProxyClient c = ImDiskProxyClient.open(new ImDiskTarget(ep, null), T, false)) {
        assertThatThrownBy(() -> c.read(0, buf, 0, 4096))
            .isInstanceOf(BlockDeviceException.class)
            .hasMessageContaining("with length 9223372036854775808 (more than asked)")
            .satisfies(
                e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.IO_ERROR));
      } finally {
        buf.releaseLast();
      }
    }
  }

  @Test
  void serverErrorsAndSilenceBecomeIoErrorsAndTimeouts() throws Exception {
    Endpoint ep = Endpoint.unix(dir.resolve("e.sock"));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (ServerSocketChannel l = ep.bind(1)) {
      serve(
          l,
          ch -> {
            info(ch, 1 << 20, 1, 0);
            read(ch, 24);
            send(ch, le(16).putLong(5).putLong(0)); // EIO, no data
            read(ch, 24); // Then never answer.
            read(ch, 1);
          },
          failure);
      BytesStore<?, Void> buf = Buffers.zeroed(4096);
      try (ImDiskProxyClient c =
          ImDiskProxyClient.open(new ImDiskTarget(ep, null), Duration.ofMillis(500), false)) {
        assertThatThrownBy(() -> c.read(0, buf, 0, 4096)).hasMessageContaining("errno 5");
        assertThatThrownBy(() -> c.read(0, buf, 0, 4096)).isInstanceOf(BlockDeviceException.class);
      } finally {
        buf.releaseLast();
      }
    }
  }

  @Test
  void sizeZeroAndAlignmentAbove512AreRefusedAtOpen() throws Exception {
    for (long[] info : new long[][] {{0, 1}, {1 << 20, 4096}}) {
      Endpoint ep = Endpoint.unix(dir.resolve("z" + info[1] + ".sock"));
      AtomicReference<Throwable> failure = new AtomicReference<>();
      try (ServerSocketChannel l = ep.bind(1)) {
        serve(l, ch -> info(ch, info[0], info[1], 0), failure);
        assertThatThrownBy(() -> ImDiskProxyClient.open(new ImDiskTarget(ep, null), T, false))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(info[0] == 0 ? "size of 0" : "alignment 4096");
      }
    }
  }
}
