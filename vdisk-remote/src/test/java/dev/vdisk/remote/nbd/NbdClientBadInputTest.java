package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.remote.testing.Buffers;
import dev.vdisk.remote.testing.CompletionLatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile or broken NBD server: every bad reply gives the request a clear I/O error naming the
 * bad value, nothing is allocated at the size the server claims, and nothing waits past the
 * timeout.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NbdClientBadInputTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  private static final long SIZE = 1 << 20;

  @TempDir Path dir;
  private BytesStore<?, Void> buf;

  @BeforeEach
  void setUp() {
    buf = Buffers.zeroed(64 * 1024);
  }

  @AfterEach
  void tearDown() {
    buf.releaseLast();
  }

  private FakeNbdServer server(boolean structured, FakeNbdServer.Script script) throws IOException {
    return new FakeNbdServer(dir.resolve("fake.sock"), structured, SIZE, script);
  }

  private static void assertIoError(ThrowingRead r, String... fragments) {
    assertThatThrownBy(r::run)
        .isInstanceOf(BlockDeviceException.class)
        .satisfies(e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.IO_ERROR))
        .satisfies(
            e -> {
              for (String f : fragments) {
                assertThat(e.getMessage()).contains(f);
              }
            });
  }

  interface ThrowingRead {
    void run() throws Exception;
  }

  @Test
  void badReplyMagic() throws Exception {
    try (FakeNbdServer s =
            server(
                false,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  c.write(ByteBuffer.allocate(16).putInt(0xdeadbeef).putInt(0).putLong(r.handle()));
                  c.request(); // Hold the connection until the client drops it.
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "bad reply magic 0xdeadbeef");
    }
  }

  @Test
  void replyForAHandleNeverSent() throws Exception {
    try (FakeNbdServer s =
            server(
                false,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  c.simple(r.handle() ^ 0x5555_0000_0000L, 0, new byte[4096]);
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "not in flight");
    }
  }

  @Test
  void dataChunkLongerThanTheRequest() throws Exception {
    try (FakeNbdServer s =
            server(
                true,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  // Claims 4 GiB - 1 of payload for a 4 KiB read: must be refused from the header
                  // alone.
                  ByteBuffer b = ByteBuffer.allocate(20 + 8);
                  b.putInt(STRUCTURED_REPLY_MAGIC)
                      .putShort((short) 1)
                      .putShort((short) REPLY_TYPE_OFFSET_DATA);
                  b.putLong(r.handle()).putInt(-1).putLong(0);
                  c.write(b);
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "4294967295 bytes for a 4096-byte READ");
    }
  }

  @Test
  void dataChunkOutsideTheRequestAtOffsetTwoToThe63() throws Exception {
    try (FakeNbdServer s =
            server(
                true,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  byte[] p = ByteBuffer.allocate(8 + 512).putLong(Long.MIN_VALUE).array();
                  c.chunk(REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, r.handle(), p);
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "9223372036854775808", "outside the READ");
    }
  }

  @Test
  void exportSizeOfTwoToThe63IsRefusedAtOpen() throws Exception {
    try (FakeNbdServer s =
        new FakeNbdServer(dir.resolve("big.sock"), true, Long.MIN_VALUE, (c, n) -> c.request())) {
      assertThatThrownBy(() -> NbdClient.open(s.target(), TIMEOUT, false))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("export size 9223372036854775808");
    }
  }

  @Test
  void chunksThatDoNotCoverTheReadAreAnError() throws Exception {
    try (FakeNbdServer s =
            server(
                true,
                (c, n) -> {
                  while (true) {
                    FakeNbdServer.Request r = c.request();
                    byte[] p = ByteBuffer.allocate(8 + 1024).putLong(r.offset()).array();
                    c.chunk(REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, r.handle(), p);
                  }
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "covered 1024 of 4096");
      // The stream stayed in step: the next request is answered the same way.
      assertIoError(() -> client.read(4096, buf, 0, 4096), "covered 1024 of 4096");
    }
  }

  @Test
  void errorChunkWithAMessageLongerThanTheChunk() throws Exception {
    try (FakeNbdServer s =
            server(
                true,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  byte[] p = ByteBuffer.allocate(6 + 4).putInt(EIO).putShort((short) 60000).array();
                  c.chunk(REPLY_FLAG_DONE, REPLY_TYPE_ERROR, r.handle(), p);
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.read(0, buf, 0, 4096), "error message of 60000 bytes");
    }
  }

  @Test
  void serverErrorsAreNamed() throws Exception {
    try (FakeNbdServer s =
            server(
                true,
                (c, n) -> {
                  while (true) {
                    FakeNbdServer.Request r = c.request();
                    byte[] msg = "disk on fire".getBytes();
                    byte[] p =
                        ByteBuffer.allocate(6 + msg.length)
                            .putInt(ENOSPC)
                            .putShort((short) msg.length)
                            .put(msg)
                            .array();
                    c.chunk(REPLY_FLAG_DONE, REPLY_TYPE_ERROR, r.handle(), p);
                  }
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(() -> client.write(0, buf, 0, 4096), "ENOSPC", "disk on fire");
    }
  }

  @Test
  void connectionClosedMidReplyRetriesTheReadOnANewConnection() throws Exception {
    byte[] data = new byte[4096];
    java.util.Arrays.fill(data, (byte) 0x5a);
    try (FakeNbdServer s =
            server(
                false,
                (c, n) -> {
                  FakeNbdServer.Request r = c.request();
                  if (n == 1) {
                    // Header and half the data, then hang up.
                    c.write(
                        ByteBuffer.allocate(16 + 2048)
                            .putInt(SIMPLE_REPLY_MAGIC)
                            .putInt(0)
                            .putLong(r.handle()));
                    return;
                  }
                  c.simple(r.handle(), 0, data);
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      client.read(0, buf, 0, 4096);
      assertThat(Buffers.bytes(buf, 0, 4096)).isEqualTo(data);
      assertThat(s.connections.get()).isEqualTo(2);
    }
  }

  @Test
  void connectionClosedWithAWriteInFlightFailsTheWriteClearly() throws Exception {
    try (FakeNbdServer s = server(false, (c, n) -> c.request());
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      assertIoError(
          () -> client.write(0, buf, 0, 4096), "lost while WRITE was in flight", "may or may not");
    }
  }

  @Test
  void silentServerTimesOutInsteadOfHanging() throws Exception {
    try (FakeNbdServer s =
            server(
                false,
                (c, n) -> {
                  c.request();
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), Duration.ofMillis(500), false)) {
      assertThatThrownBy(() -> client.read(0, buf, 0, 4096))
          .isInstanceOf(BlockDeviceException.class)
          .satisfies(
              e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.TIMEOUT));
    }
  }

  @Test
  void handshakeThatNeverFinishesIsBoundedByTheTimeout() throws Exception {
    java.nio.channels.ServerSocketChannel l =
        dev.vdisk.remote.io.Endpoint.unix(dir.resolve("mute.sock")).bind(1);
    try (l) {
      assertThatThrownBy(
              () ->
                  NbdClient.open(
                      new NbdTarget(
                          dev.vdisk.remote.io.Endpoint.unix(dir.resolve("mute.sock")), "", false),
                      Duration.ofMillis(300),
                      false))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("did not finish within");
    }
  }

  @Test
  void thirtyTwoReadsAreInFlightOnOneConnectionAndMatchedByHandleOutOfOrder() throws Exception {
    int depth = 32;
    try (FakeNbdServer s =
            server(
                false,
                (c, n) -> {
                  // Answer nothing until all 32 are on the wire, then answer newest first.
                  FakeNbdServer.Request[] got = new FakeNbdServer.Request[depth];
                  for (int i = 0; i < depth; i++) {
                    got[i] = c.request();
                  }
                  for (int i = depth - 1; i >= 0; i--) {
                    byte[] data = new byte[got[i].length()];
                    java.util.Arrays.fill(data, (byte) (got[i].offset() / 4096));
                    c.simple(got[i].handle(), 0, data);
                  }
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, false)) {
      CompletionLatch done = new CompletionLatch(depth);
      BytesStore<?, Void> big = Buffers.zeroed(depth * 4096);
      try {
        for (int i = 0; i < depth; i++) {
          client.submit(
              dev.vdisk.api.AsyncBlockDevice.OP_READ,
              (i + 1) * 4096L,
              big,
              i * 4096L,
              4096,
              i,
              done);
        }
        done.assertAllSucceededWithin(10);
        for (int i = 0; i < depth; i++) {
          assertThat(big.readByte(i * 4096L)).as("read %d", i).isEqualTo((byte) (i + 1));
          assertThat(big.readByte(i * 4096L + 4095)).as("read %d", i).isEqualTo((byte) (i + 1));
        }
        assertThat(s.connections.get()).isEqualTo(1);
      } finally {
        big.releaseLast();
      }
    }
  }
}
