package dev.vdisk.remote.aoe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.remote.testing.Buffers;
import dev.vdisk.remote.testing.CompletionLatch;
import dev.vdisk.remote.testing.Peer;
import dev.vdisk.remote.testing.VethNamespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AoE initiator against vblade running in a network namespace, joined to the JVM's root
 * namespace by a veth pair with no IP addresses.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AoeVbladeIT {
  private static final int MIB = 1 << 20;
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  @TempDir Path dir;

  private Peer vblade(VethNamespace ns, Path image, String... options) throws Exception {
    String vblade = Peer.requireTool("vblade", "vblade");
    List<String> cmd = new ArrayList<>(List.of(vblade));
    cmd.addAll(List.of(options));
    cmd.addAll(List.of("1", "2", ns.nsEnd(), image.toString()));
    return Peer.start("vblade", ns.exec(cmd), null, dir);
  }

  private static byte[] image(Path p, int size, long seed) throws Exception {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    Files.write(p, b);
    return b;
  }

  /** Writes the device at full window and returns what was written. */
  private static byte[] writeAll(AoeDevice d, long seed) throws Exception {
    int size = (int) d.size();
    BytesStore<?, Void> src = Buffers.random(size, seed);
    try {
      int chunk = 128 * 1024;
      CompletionLatch done = new CompletionLatch(size / chunk);
      for (int off = 0; off < size; off += chunk) {
        d.submit(AsyncBlockDevice.OP_WRITE, off, src, off, chunk, off, done);
      }
      done.assertAllSucceededWithin(120);
      d.flush();
      return Buffers.bytes(src, 0, size);
    } finally {
      src.releaseLast();
    }
  }

  @Test
  void readsAndWritesA64MibImageWithChecksumsAtMtu9000() throws Exception {
    Path img = dir.resolve("aoe.img");
    byte[] content = image(img, 64 * MIB, 1);
    try (VethNamespace ns = VethNamespace.create(9000);
        Peer target = vblade(ns, img);
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      assertThat(d.size()).isEqualTo(64L * MIB);
      assertThat(d.maxSectorsPerFrame()).isEqualTo(17);
      assertThat(Buffers.sha256(d)).isEqualTo(Buffers.sha256(content));
      byte[] written = writeAll(d, 2);
      assertThat(Buffers.sha256(img)).isEqualTo(Buffers.sha256(written));
      assertThat(Buffers.sha256(d)).isEqualTo(Buffers.sha256(written));
    }
  }

  @Test
  void mtu1500CarriesTwoSectorsAndTheBufferCountBoundsTheWindow() throws Exception {
    Path img = dir.resolve("small.img");
    byte[] content = image(img, 4 * MIB, 3);
    try (VethNamespace ns = VethNamespace.create(1500);
        Peer target = vblade(ns, img, "-b", "4");
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      assertThat(d.maxSectorsPerFrame()).isEqualTo(2);
      assertThat(d.bufferCount()).isEqualTo(4);
      assertThat(d.window()).isEqualTo(4);
      assertThat(Buffers.sha256(d)).isEqualTo(Buffers.sha256(content));
      assertThat(d.peakInFlight()).isEqualTo(4);
    }
  }

  @Test
  void readOnlyTargetRefusesWrites() throws Exception {
    Path img = dir.resolve("ro.img");
    byte[] content = image(img, 2 * MIB, 4);
    try (VethNamespace ns = VethNamespace.create(1500);
        Peer target = vblade(ns, img, "-r");
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      BytesStore<?, Void> b = Buffers.random(4096, 5);
      try {
        assertThatThrownBy(() -> d.write(0, b, 0, 4096))
            .isInstanceOf(BlockDeviceException.class)
            .satisfies(
                e ->
                    assertThat(((BlockDeviceException) e).reason())
                        .isEqualTo(BlockDeviceException.Reason.IO_ERROR));
      } finally {
        b.releaseLast();
      }
      assertThat(Buffers.sha256(img)).isEqualTo(Buffers.sha256(content));
    }
  }

  @Test
  void windowOffsetAndLengthAreHonoured() throws Exception {
    Path img = dir.resolve("win.img");
    byte[] content = image(img, 8 * MIB, 6);
    try (VethNamespace ns = VethNamespace.create(1500);
        Peer target = vblade(ns, img, "-o", "2048", "-l", "4096");
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      assertThat(d.size()).isEqualTo(4096L * 512);
      assertThat(Buffers.sha256(d))
          .isEqualTo(Buffers.sha256(Arrays.copyOfRange(content, MIB, 3 * MIB)));
      BytesStore<?, Void> b = Buffers.random(8192, 7);
      try {
        d.write(0, b, 0, 8192);
        byte[] after = Files.readAllBytes(img);
        assertThat(Arrays.copyOfRange(after, MIB, MIB + 8192)).isEqualTo(Buffers.bytes(b, 0, 8192));
        // Past the window's end the target answers IDNF; the request fails cleanly.
        BytesStore<?, Void> one = Buffers.zeroed(512);
        try {
          assertThat(d.size()).isEqualTo(2 * MIB);
        } finally {
          one.releaseLast();
        }
      } finally {
        b.releaseLast();
      }
    }
  }

  @Test
  void stoppingTheTargetForSecondsIsSurvivedByRetransmission() throws Exception {
    Path img = dir.resolve("stop.img");
    byte[] content = image(img, 16 * MIB, 8);
    try (VethNamespace ns = VethNamespace.create(9000);
        Peer target = vblade(ns, img);
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      long before = d.retransmissions();
      AtomicReference<Object> result = new AtomicReference<>();
      Thread reader =
          new Thread(
              () -> {
                try {
                  result.set(Buffers.sha256(d));
                } catch (Exception e) {
                  result.set(e);
                }
              });
      // vblade is a child of `ip netns exec`, which execs it: the pid is vblade's.
      target.signal("STOP");
      reader.start();
      Thread.sleep(3000);
      target.signal("CONT");
      reader.join(60_000);
      assertThat(result.get()).isEqualTo(Buffers.sha256(content));
      assertThat(d.retransmissions()).isGreaterThan(before);
    }
  }

  @Test
  void reserveAndReleaseAndAReservationByAnotherMacFailsIo() throws Exception {
    Path img = dir.resolve("res.img");
    image(img, MIB, 9);
    try (VethNamespace ns = VethNamespace.create(1500);
        Peer target = vblade(ns, img);
        AoeDevice d = AoeDevice.open(PacketFrameChannel.open(ns.rootEnd()), 1, 2, TIMEOUT, false)) {
      d.reserve();
      assertThat(d.reservation()).hasSize(1);
      BytesStore<?, Void> b = Buffers.zeroed(512);
      try {
        d.read(0, b, 0, 512);
        d.forceReservation(List.of(new byte[] {2, 0, 0, 0, 0, 9}));
        assertThatThrownBy(() -> d.read(0, b, 0, 512))
            .hasMessageContaining("target is reserved (AoE error 6)");
        d.forceReservation(List.of());
        d.read(0, b, 0, 512);
        d.release();
        assertThat(d.reservation()).isEmpty();
      } finally {
        b.releaseLast();
      }
    }
  }
}
