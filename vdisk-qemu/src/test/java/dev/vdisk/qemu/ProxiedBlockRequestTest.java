package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.FileDisk;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.virtio.pci.BarLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A whole virtio-blk request through the proxy's wire format, as Linux does it under TCG with
 * {@code pci=nomsi}: driver initialisation over BAR_WRITEs (the 64-bit ring addresses as two 32-bit
 * halves, as SeaBIOS and Linux write them), a split ring in a memfd shared by SYNC_SYSMEM, a
 * doorbell, then the used ring. Each used-ring update the driver did not suppress sets the ISR
 * queue bit (read-to-clear) and raises INTx through the SET_IRQFD eventfd; one with
 * VIRTQ_AVAIL_F_NO_INTERRUPT does neither. This is the path the Linux guest IT depends on, checked
 * here byte by byte without QEMU.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProxiedBlockRequestTest {
  private static final long BASE = 0xfe00_0000L;
  private static final int RAM = 1 << 20;
  private static final int QUEUE_SIZE = 8;
  private static final long DESC = 0x1000;
  private static final long AVAIL = 0x2000;
  private static final long USED = 0x3000;
  private static final long HEADER = 0x4000;
  private static final long DATA = 0x5000;
  private static final long STATUS = 0x6000;
  private static final int VIRTQ_DESC_F_NEXT = 1;
  private static final int VIRTQ_DESC_F_WRITE = 2;
  private static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
  private static final int VIRTIO_BLK_T_IN = 0;

  @TempDir Path dir;

  private ProxyPeer peer;
  private FileChannel ram;
  private BarLayout layout;

  @ParameterizedTest
  @EnumSource(QemuProfile.class)
  void usedRingUpdatesSetTheIsrAndRaiseIntxUnlessSuppressed(QemuProfile profile) throws Exception {
    byte[] image = new byte[64 * 512];
    new Random(7).nextBytes(image);
    Path file = dir.resolve("disk.img");
    Files.write(file, image);
    int[] pair = Posix.socketPair();
    IntxEventFds intx = MpqemuServer.newIntxLine();
    int mem = Posix.memfd("vdisk-ring", RAM);
    int irq = Posix.eventFd(Posix.EFD_NONBLOCK);
    int resample = Posix.eventFd(Posix.EFD_NONBLOCK);
    try (FileDisk disk = FileDisk.open(file, false)) {
      VirtioPciFunction function = VirtioPciFunction.forBlock(disk, profile, intx, "req0");
      layout = function.transport().layout();
      MpqemuServer server = new MpqemuServer(pair[0], function, intx);
      Thread serving = new Thread(() -> serve(server), "proxied-request");
      serving.start();
      ram =
          FileChannel.open(
              Path.of("/proc/self/fd/" + mem), StandardOpenOption.READ, StandardOpenOption.WRITE);
      try (ProxyPeer p = new ProxyPeer(pair[1])) {
        peer = p;
        p.send(
            MpqemuCommand.SYNC_SYSMEM,
            ProxyPeer.sysmem(new long[] {0}, new long[] {RAM}, new long[] {0}),
            mem);
        p.send(MpqemuCommand.SET_IRQFD, new byte[0], irq, resample);
        p.cfgWrite(0x10 + 4 * layout.bar(), BASE, 4);
        p.cfgWrite(0x04, 0x6, 2); // memory space + bus master; MSI-X stays off: INTx
        initialiseDriver();

        // Request 1: read sector 5, interrupts wanted.
        submit(0, 5, 0);
        awaitUsed(1);
        assertThat(u8(STATUS)).as("VIRTIO_BLK_S_OK").isZero();
        assertThat(bytes(DATA, 512)).isEqualTo(slice(image, 5 * 512, 512));
        // used.len: data + status; the aerovblk contract reports 0 (virtio allows an
        // underestimate).
        assertThat(u32(USED + 4 + 4))
            .as("used len")
            .isEqualTo(profile == QemuProfile.AERO ? 0 : 513);
        assertThat(Posix.eventFdRead(irq)).as("INTx raised through the eventfd").isEqualTo(1);
        assertThat(isr(1)).as("ISR queue bit").isEqualTo(1);
        assertThat(isr(1)).as("read-to-clear").isZero();
        assertThat(Posix.eventFdRead(irq)).as("no second edge").isZero();

        // Request 2: read sector 9 with VIRTQ_AVAIL_F_NO_INTERRUPT: used ring, no ISR, no INTx.
        submit(1, 9, VIRTQ_AVAIL_F_NO_INTERRUPT);
        awaitUsed(2);
        assertThat(bytes(DATA, 512)).isEqualTo(slice(image, 9 * 512, 512));
        assertThat(isr(1)).as("suppressed: ISR stays clear").isZero();
        assertThat(Posix.eventFdRead(irq)).as("suppressed: no INTx").isZero();

        // Request 3: interrupts wanted again: the line rises again after the earlier clear.
        submit(2, 11, 0);
        awaitUsed(3);
        assertThat(bytes(DATA, 512)).isEqualTo(slice(image, 11 * 512, 512));
        assertThat(Posix.eventFdRead(irq)).isEqualTo(1);
        assertThat(isr(1)).isEqualTo(1);
        assertThat(server.protocolErrors()).isZero();
      } finally {
        serving.join(5000);
        server.close();
        ram.close();
      }
    } finally {
      Posix.closeQuietly(mem);
      Posix.closeQuietly(irq);
      Posix.closeQuietly(resample);
    }
  }

  private static void serve(MpqemuServer server) {
    try {
      server.serve();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** ACKNOWLEDGE, DRIVER, VERSION_1 only, FEATURES_OK, queue 0 at DESC/AVAIL/USED, DRIVER_OK. */
  private void initialiseDriver() throws IOException {
    long common = BASE + layout.commonCfg().offset();
    bar(common + 0x14, 1, 1);
    bar(common + 0x14, 3, 1);
    bar(common + 0x00, 1, 4); // device_feature_select: bits 32..63
    assertThat(read(common + 0x04, 4) & 1).as("VERSION_1 offered").isEqualTo(1);
    bar(common + 0x08, 0, 4);
    bar(common + 0x0c, 0, 4);
    bar(common + 0x08, 1, 4);
    bar(common + 0x0c, 1, 4); // VERSION_1
    bar(common + 0x14, 0xb, 1);
    assertThat(read(common + 0x14, 1)).as("FEATURES_OK sticks").isEqualTo(0xb);
    bar(common + 0x16, 0, 2);
    assertThat(read(common + 0x18, 2)).isGreaterThanOrEqualTo(QUEUE_SIZE);
    bar(common + 0x18, QUEUE_SIZE, 2);
    // 64-bit ring addresses as two 32-bit halves, low then high.
    long[][] rings = {{0x20, DESC}, {0x28, AVAIL}, {0x30, USED}};
    for (long[] r : rings) {
      bar(common + r[0], r[1], 4);
      bar(common + r[0] + 4, 0, 4);
      assertThat(read(common + r[0], 4)).isEqualTo(r[1]);
    }
    bar(common + 0x1c, 1, 2);
    bar(common + 0x14, 0xf, 1);
    assertThat(read(common + 0x14, 1)).as("DRIVER_OK, no NEEDS_RESET").isEqualTo(0xf);
  }

  /** Request {@code n}: header, data (device-writable), status; avail idx n + 1; doorbell. */
  private void submit(int n, long sector, int availFlags) throws IOException {
    put(HEADER, le(16).putInt(VIRTIO_BLK_T_IN).putInt(0).putLong(sector));
    put(STATUS, le(1).put((byte) 0xff));
    put(DESC, desc(HEADER, 16, VIRTQ_DESC_F_NEXT, 1));
    put(DESC + 16, desc(DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2));
    put(DESC + 32, desc(STATUS, 1, VIRTQ_DESC_F_WRITE, 0));
    put(AVAIL + 4 + 2L * (n % QUEUE_SIZE), le(2).putShort((short) 0));
    put(AVAIL, le(4).putShort((short) availFlags).putShort((short) (n + 1)));
    bar(BASE + layout.notifyCfg().offset(), 0, 2); // queue 0's doorbell (notify_off 0)
  }

  private void awaitUsed(int idx) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while ((u32(USED) >>> 16) != idx) {
      assertThat(System.nanoTime()).as("used idx %d within 10 s", idx).isLessThan(deadline);
      Thread.sleep(1);
    }
  }

  private long isr(int size) throws IOException {
    return read(BASE + layout.isrCfg().offset(), size);
  }

  private void bar(long addr, long val, int size) throws IOException {
    peer.barWrite(addr, val, size, true);
  }

  private long read(long addr, int size) throws IOException {
    return peer.barRead(addr, size, true);
  }

  private static ByteBuffer desc(long addr, int len, int flags, int next) {
    return le(16).putLong(addr).putInt(len).putShort((short) flags).putShort((short) next);
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private void put(long gpa, ByteBuffer b) throws IOException {
    b.flip();
    ram.write(b, gpa);
  }

  private byte[] bytes(long gpa, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    ram.read(b, gpa);
    return b.array();
  }

  private int u8(long gpa) throws IOException {
    return bytes(gpa, 1)[0] & 0xff;
  }

  private long u32(long gpa) throws IOException {
    return ByteBuffer.wrap(bytes(gpa, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffff_ffffL;
  }

  private static byte[] slice(byte[] a, int from, int n) {
    byte[] out = new byte[n];
    System.arraycopy(a, from, out, 0, n);
    return out;
  }
}
