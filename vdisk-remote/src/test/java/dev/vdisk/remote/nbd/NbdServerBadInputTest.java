package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.RamDisk;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.io.Streams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile or merely unusual NBD client against vdisk's server: bad requests get errors or a
 * dropped connection, and requests bunched into one write or dribbled out a few bytes at a time are
 * framed and answered the same.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NbdServerBadInputTest {
  @TempDir Path dir;
  private RamDisk disk;
  private NbdServer server;

  @BeforeEach
  void setUp() throws IOException {
    disk = RamDisk.create(1 << 20);
    server =
        NbdServer.start(
            Endpoint.unix(dir.resolve("s.sock")),
            disk,
            NbdServerOptions.DEFAULTS.withHandshakeTimeout(Duration.ofSeconds(1)));
  }

  @AfterEach
  void tearDown() throws IOException {
    server.close();
    disk.close();
  }

  private SocketChannel connect() throws IOException {
    SocketChannel ch = server.endpoint().connect(Duration.ofSeconds(2));
    Streams.readFully(ch, ByteBuffer.allocate(18), "greeting");
    return ch;
  }

  /** Negotiates with GO (simple replies) and returns the channel in transmission phase. */
  private SocketChannel transmission() throws IOException {
    SocketChannel ch = connect();
    write(ch, ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
    write(
        ch,
        ByteBuffer.allocate(16 + 6)
            .putLong(IHAVEOPT)
            .putInt(OPT_GO)
            .putInt(6)
            .putInt(0)
            .putShort((short) 0));
    while (true) {
      ByteBuffer h = ByteBuffer.allocate(20);
      Streams.readFully(ch, h, "reply");
      int type = h.getInt(12);
      Streams.readFully(ch, ByteBuffer.allocate(h.getInt(16)), "data");
      if (type == REP_ACK) {
        return ch;
      }
    }
  }

  private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
    Streams.writeFully(ch, b.flip());
  }

  /** Sends the whole buffer, including the zero bytes after what was put. */
  private static void writeWhole(SocketChannel ch, ByteBuffer b) throws IOException {
    Streams.writeFully(ch, b.clear());
  }

  private static void request(SocketChannel ch, int type, long offset, int length)
      throws IOException {
    write(
        ch,
        ByteBuffer.allocate(28)
            .putInt(REQUEST_MAGIC)
            .putShort((short) 0)
            .putShort((short) type)
            .putLong(42)
            .putLong(offset)
            .putInt(length));
  }

  private static int simpleError(SocketChannel ch) throws IOException {
    ByteBuffer r = ByteBuffer.allocate(16);
    Streams.readFully(ch, r, "reply");
    assertThat(r.getInt(0)).isEqualTo(SIMPLE_REPLY_MAGIC);
    assertThat(r.getLong(8)).isEqualTo(42);
    return r.getInt(4);
  }

  private static boolean closedByServer(SocketChannel ch) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1);
    try {
      return ch.read(b) < 0;
    } catch (IOException e) {
      return true; // Connection reset: dropped as well.
    }
  }

  /**
   * One WRITE and many READs back to back in one buffer: with {@code chunked} the buffer goes out
   * seven bytes per write (headers and the payload split across the server's reads), else in one
   * write (many requests per read, the payload partly in the server's read-ahead). The READs cover
   * another range than the WRITE, filled beforehand, so their answers do not depend on the order
   * the server runs them in.
   */
  private void burstIsAnsweredInFull(boolean chunked) throws IOException {
    byte[] data = new byte[8192];
    byte[] before = new byte[8192];
    java.util.Random random = new java.util.Random(5);
    random.nextBytes(data);
    random.nextBytes(before);
    try (dev.vdisk.testkit.NativeBuffer b = new dev.vdisk.testkit.NativeBuffer(before.length)) {
      b.put(0, before);
      disk.write(65536, b.store(), 0, before.length);
    }
    int reads = 24;
    ByteBuffer burst = ByteBuffer.allocate(28 + data.length + reads * 28);
    burst.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) CMD_WRITE);
    burst.putLong(1000).putLong(8192).putInt(data.length).put(data);
    for (int i = 0; i < reads; i++) {
      burst.putInt(REQUEST_MAGIC).putShort((short) 0).putShort((short) CMD_READ);
      burst.putLong(i).putLong(65536 + (i % 16) * 512L).putInt(512);
    }
    burst.flip();
    try (SocketChannel ch = transmission()) {
      if (chunked) {
        while (burst.hasRemaining()) {
          ByteBuffer piece = burst.slice();
          piece.limit(Math.min(piece.remaining(), 7));
          burst.position(burst.position() + piece.limit());
          Streams.writeFully(ch, piece);
        }
      } else {
        Streams.writeFully(ch, burst);
      }
      java.util.Set<Long> answered = new java.util.HashSet<>();
      for (int n = 0; n < reads + 1; n++) {
        ByteBuffer r = ByteBuffer.allocate(16);
        Streams.readFully(ch, r, "reply");
        assertThat(r.getInt(0)).isEqualTo(SIMPLE_REPLY_MAGIC);
        assertThat(r.getInt(4)).as("error").isZero();
        long handle = r.getLong(8);
        assertThat(answered.add(handle)).as("handle %d answered once", handle).isTrue();
        if (handle != 1000) {
          ByteBuffer got = ByteBuffer.allocate(512);
          Streams.readFully(ch, got, "read data");
          int at = (int) (handle % 16) * 512;
          assertThat(got.array())
              .as("READ %d", handle)
              .isEqualTo(java.util.Arrays.copyOfRange(before, at, at + 512));
        }
      }
      assertThat(answered).hasSize(reads + 1);
      request(ch, CMD_READ, 8192, data.length);
      assertThat(simpleError(ch)).isZero();
      ByteBuffer all = ByteBuffer.allocate(data.length);
      Streams.readFully(ch, all, "read back");
      assertThat(all.array()).as("the WRITE's payload, whole").isEqualTo(data);
    }
  }

  @Test
  void aBurstOfRequestsInOneWriteIsAnsweredInFull() throws IOException {
    burstIsAnsweredInFull(false);
  }

  @Test
  void requestsArrivingAFewBytesAtATimeAreAnsweredInFull() throws IOException {
    burstIsAnsweredInFull(true);
  }

  @Test
  void unknownClientFlagsDropTheConnection() throws IOException {
    try (SocketChannel ch = connect()) {
      write(ch, ByteBuffer.allocate(4).putInt(0x80));
      assertThat(closedByServer(ch)).isTrue();
    }
  }

  @Test
  void hugeOptionLengthDropsWithoutAllocating() throws IOException {
    try (SocketChannel ch = connect()) {
      write(ch, ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE));
      write(ch, ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO).putInt(-1));
      assertThat(closedByServer(ch)).isTrue();
    }
  }

  @Test
  void silentClientIsDroppedAfterTheHandshakeTimeout() throws IOException {
    try (SocketChannel ch = connect()) {
      assertThat(closedByServer(ch)).isTrue();
    }
  }

  @Test
  void badRequestMagicDropsTheConnection() throws IOException {
    try (SocketChannel ch = transmission()) {
      writeWhole(ch, ByteBuffer.allocate(28).putInt(0x12345678));
      assertThat(closedByServer(ch)).isTrue();
    }
  }

  @Test
  void outOfRangeAndMisalignedRequestsGetEinvalAndTheConnectionCarriesOn() throws IOException {
    try (SocketChannel ch = transmission()) {
      request(ch, CMD_READ, Long.MIN_VALUE, 4096); // offset 2^63
      assertThat(simpleError(ch)).isEqualTo(EINVAL);
      request(ch, CMD_READ, (1 << 20) - 512, 4096); // runs past the end
      assertThat(simpleError(ch)).isEqualTo(EINVAL);
      request(ch, CMD_READ, 100, 512); // misaligned
      assertThat(simpleError(ch)).isEqualTo(EINVAL);
      request(ch, 99, 0, 512); // unknown command
      assertThat(simpleError(ch)).isEqualTo(ENOTSUP);
      request(ch, CMD_BLOCK_STATUS, 0, 512); // no context negotiated
      assertThat(simpleError(ch)).isEqualTo(EINVAL);
      // A write beyond the end: the payload is consumed, EINVAL, and the stream stays in step.
      writeWhole(
          ch,
          ByteBuffer.allocate(28 + 512)
              .putInt(REQUEST_MAGIC)
              .putShort((short) 0)
              .putShort((short) CMD_WRITE)
              .putLong(42)
              .putLong(1 << 20)
              .putInt(512));
      assertThat(simpleError(ch)).isEqualTo(EINVAL);
      request(ch, CMD_READ, 0, 512);
      assertThat(simpleError(ch)).isEqualTo(0);
      Streams.readFully(ch, ByteBuffer.allocate(512), "data");
    }
  }

  @Test
  void writeLargerThanTheMaximumPayloadDropsTheConnection() throws IOException {
    try (SocketChannel ch = transmission()) {
      request(ch, CMD_WRITE, 0, 64 << 20);
      assertThat(closedByServer(ch)).isTrue();
    }
  }

  @Test
  void writeToAReadOnlyExportGetsEperm() throws IOException {
    try (NbdServer ro =
            NbdServer.start(
                Endpoint.unix(dir.resolve("ro.sock")),
                disk,
                NbdServerOptions.DEFAULTS.withReadOnly(true));
        SocketChannel ch = ro.endpoint().connect(Duration.ofSeconds(2))) {
      Streams.readFully(ch, ByteBuffer.allocate(18), "greeting");
      write(ch, ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
      write(ch, ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_EXPORT_NAME).putInt(0));
      ByteBuffer info = ByteBuffer.allocate(10);
      Streams.readFully(ch, info, "export");
      assertThat(info.getShort(8) & TF_READ_ONLY).isNotZero();
      request(ch, CMD_TRIM, 0, 4096);
      assertThat(simpleError(ch)).isEqualTo(EPERM);
    }
  }
}
