package dev.vdisk.remote.aoe;

import static dev.vdisk.remote.aoe.AoeFrames.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.remote.testing.Buffers;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The initiator against a broken in-process target: frames that cannot be attributed to a request
 * (wrong tag, wrong shelf/slot, too short for a header) are dropped and logged and the request is
 * answered by retransmission; frames that answer a request wrongly (wrong command, short data,
 * errors) fail it with an I/O error naming the value; silence becomes a timeout.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AoeBadInputTest {
  private FakeAoeTarget target;
  private AoeDevice device;
  private BytesStore<?, Void> buf;

  @BeforeEach
  void setUp() throws Exception {
    target = new FakeAoeTarget(1 << 20, 3, 4, 2, 8);
    new Random(1).nextBytes(target.disk);
    device = AoeDevice.open(target, 3, 4, Duration.ofSeconds(2), false);
    buf = Buffers.zeroed(8192);
  }

  @AfterEach
  void tearDown() {
    device.close();
    buf.releaseLast();
  }

  private byte[] expected(int offset, int n) {
    byte[] b = new byte[n];
    System.arraycopy(target.disk, offset, b, 0, n);
    return b;
  }

  /** Applies {@code bad} to the first ATA answer only; later answers are left alone. */
  private void once(java.util.function.UnaryOperator<ByteBuffer> bad) {
    AtomicBoolean used = new AtomicBoolean();
    target.mutator =
        (req, ans) ->
            req.get(COMMAND) == CMD_ATA && used.compareAndSet(false, true) ? bad.apply(ans) : ans;
  }

  @Test
  void discoveryIdentifyAndIoWorkWithUnpaddedAnswersAndEveryFrameSentIsPadded() throws Exception {
    assertThat(device.size()).isEqualTo(1 << 20);
    assertThat(device.maxSectorsPerFrame()).isEqualTo(2);
    device.read(4096, buf, 0, 8192);
    assertThat(Buffers.bytes(buf, 0, 8192)).isEqualTo(expected(4096, 8192));
    device.write(0, buf, 0, 8192);
    assertThat(expected(0, 8192)).isEqualTo(Buffers.bytes(buf, 0, 8192));
    synchronized (target) {
      assertThat(target.sentLengths).allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(60));
    }
  }

  @Test
  void answerWithAWrongTagIsDroppedAndTheRetransmissionSucceeds() throws Exception {
    once(a -> a.putInt(TAG, a.getInt(TAG) ^ 0x1234_0000));
    device.read(0, buf, 0, 1024);
    assertThat(Buffers.bytes(buf, 0, 1024)).isEqualTo(expected(0, 1024));
    assertThat(device.retransmissions()).isPositive();
  }

  @Test
  void answerFromAnotherShelfIsDroppedAndTheRetransmissionSucceeds() throws Exception {
    once(a -> a.putShort(MAJOR, (short) 99));
    device.read(0, buf, 0, 1024);
    assertThat(Buffers.bytes(buf, 0, 1024)).isEqualTo(expected(0, 1024));
    assertThat(device.retransmissions()).isPositive();
  }

  @Test
  void framesShorterThanAHeaderAreDropped() throws Exception {
    target.inject(new byte[10]);
    device.read(0, buf, 0, 1024);
    assertThat(Buffers.bytes(buf, 0, 1024)).isEqualTo(expected(0, 1024));
  }

  private void assertFails(String... fragments) {
    assertThatThrownBy(() -> device.read(0, buf, 0, 1024))
        .isInstanceOf(BlockDeviceException.class)
        .satisfies(e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.IO_ERROR))
        .satisfies(
            e -> {
              for (String f : fragments) {
                assertThat(e.getMessage()).contains(f);
              }
            });
  }

  @Test
  void answerWithTheRightTagButTheWrongCommandFailsTheRequest() {
    once(a -> a.put(COMMAND, (byte) CMD_RESERVE));
    assertFails("has command 3 (sent 0)");
  }

  @Test
  void readAnswerShorterThanItsSectorsFailsTheRequest() {
    once(a -> ByteBuffer.wrap(a.array(), 0, ATA_HEADER + 100).slice());
    assertFails("short AoE frame of 136 bytes");
  }

  @Test
  void aoeErrorFlagFailsTheRequest() {
    once(a -> a.put(VER_FLAGS, (byte) 0x1C).put(ERROR, (byte) 3));
    assertFails("device unavailable (AoE error 3)");
  }

  @Test
  void ataErrorStatusFailsTheRequest() {
    once(a -> a.put(ATA_CMD_STATUS, (byte) 0x41).put(ATA_FEATURE, (byte) 0x10));
    assertFails("ATA status 0x41 error 0x10 (IDNF");
  }

  @Test
  void sectorsLeftUndoneFailTheRequest() {
    once(a -> a.put(ATA_COUNT, (byte) 1));
    assertFails("left 1 of 2 sectors undone");
  }

  @Test
  void silentTargetTimesOutWithoutHanging() {
    target.mutator = (req, ans) -> null;
    assertThatThrownBy(() -> device.read(0, buf, 0, 1024))
        .isInstanceOf(BlockDeviceException.class)
        .satisfies(e -> assertThat(((BlockDeviceException) e).reason()).isEqualTo(Reason.TIMEOUT))
        .hasMessageContaining("did not answer within");
  }

  @Test
  void uriSyntax() {
    assertThat(AoeTarget.parse(URI.create("aoe://vd0/1.2"))).isEqualTo(new AoeTarget("vd0", 1, 2));
    assertThat(AoeTarget.parse(URI.create("aoe://eth0/e65534.254")))
        .isEqualTo(new AoeTarget("eth0", 65534, 254));
    assertThatThrownBy(() -> AoeTarget.parse(URI.create("aoe://eth0/1.255")))
        .hasMessageContaining("1.255");
    assertThatThrownBy(() -> AoeTarget.parse(URI.create("aoe:///1.2")))
        .hasMessageContaining("no interface");
  }
}
