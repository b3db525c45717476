package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.qemu.natives.Posix;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The remote's codec and dispatcher against a peer that speaks QEMU 7.2's bytes, over a real
 * socketpair with real fds: every command, and each kind of bad input the issue lists (logged,
 * answered all-ones where a reply is owed, nothing leaked, the session goes on in order).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MpqemuServerTest {
  private static final long ONES = -1L;
  private static final long BAR0 = 0xfebf_0000L;
  private static final int BAR1 = 0xc040;

  private FakeFunction function;
  private IntxEventFds intx;
  private MpqemuServer server;
  private ProxyPeer peer;
  private Thread thread;
  private final AtomicReference<Throwable> serverFailure = new AtomicReference<>();
  private final String memName = "vdisk-test-" + System.nanoTime();

  @BeforeEach
  void start() throws IOException {
    int[] pair = Posix.socketPair();
    function = new FakeFunction();
    intx = MpqemuServer.newIntxLine();
    function.intx = intx;
    server = new MpqemuServer(pair[0], function, intx);
    peer = new ProxyPeer(pair[1]);
    thread =
        new Thread(
            () -> {
              try {
                server.serve();
              } catch (Throwable t) {
                serverFailure.set(t);
              }
            },
            "test-server");
    thread.start();
  }

  @AfterEach
  void stop() throws Exception {
    peer.close();
    thread.join(5000);
    assertThat(thread.isAlive()).as("server returns at EOF").isFalse();
    assertThat(serverFailure.get()).isNull();
    server.close();
    assertThat(FdProbe.openFds(memName)).as("memfds left open").isZero();
    assertThat(FdProbe.mappings(memName)).as("memfd mappings left").isZero();
  }

  private void programBars() throws IOException {
    peer.cfgWrite(0x10, BAR0, 4);
    peer.cfgWrite(0x14, BAR1, 4);
    peer.cfgWrite(0x04, 0x3, 2);
  }

  /** A valid request after a bad one still gets its own answer: framing and order survived. */
  private void assertStillInStep() throws IOException {
    assertThat(peer.cfgRead(0x00, 2)).isEqualTo(0x1234);
    assertThat(peer.cfgRead(0x02, 2)).isEqualTo(0x5678);
  }

  @Test
  void configReadAnswersWithQemusExactBytes() throws IOException {
    peer.send(MpqemuCommand.PCI_CFGREAD, ProxyPeer.conf(0x000, 0, 2));
    assertThat(HexFormat.of().formatHex(peer.readRaw(24)))
        .isEqualTo("01000000000000000800000000000000" + "3412000000000000");
  }

  @Test
  void barSizingThroughConfigSpaceAndAbsoluteBarAddresses() throws IOException {
    // The proxy's probe: read orig, write all-ones, read the mask, write orig back.
    assertThat(peer.cfgRead(0x10, 4)).isZero();
    assertThat(peer.cfgWrite(0x10, 0xffff_ffffL, 4)).isZero();
    assertThat(peer.cfgRead(0x10, 4)).isEqualTo(0xffff_f000L);
    peer.cfgWrite(0x10, 0, 4);
    assertThat(peer.cfgRead(0x28, 4)).as("CardBus CIS, probed by the proxy").isZero();
    programBars();

    assertThat(peer.barRead(BAR0 + 0x14, 1, true)).isEqualTo(0xA0 + 0x14);
    assertThat(peer.barRead(BAR0 + 0x10, 4, true)).isEqualTo(0xB0B0B0B0L);
    assertThat(peer.barRead(BAR0 + 0xff8, 8, true)).isEqualTo(0x9898989898989898L);
    assertThat(peer.barWrite(BAR0 + 0x14, 0x1ff, 1, true)).isZero();
    assertThat(peer.barRead(BAR1 + 4, 2, false)).isEqualTo(0xA4A4);
    assertThat(peer.barWrite(BAR1 + 4, 0xabcd, 2, false)).isZero();
    assertThat(function.log)
        .contains("barr 0+14/1", "barw 0+14/1=ff", "barr 1+4/2", "barw 1+4/2=abcd");
  }

  @Test
  void barMovedByTheGuestIsDecodedAtItsNewBase() throws IOException {
    programBars();
    peer.cfgWrite(0x10, 0xe000_0000L, 4);
    assertThat(peer.barRead(BAR0, 4, true)).as("old base").isEqualTo(ONES);
    assertThat(peer.barRead(0xe000_0008L, 1, true)).isEqualTo(0xA8);
  }

  @Test
  void syncSysmemMapsMemfdsOnceAndClosesEveryFd() throws IOException {
    int fd = Posix.memfd(memName, 0x40000);
    long[] gpas = {0x0, 0x20000};
    long[] sizes = {0x10000, 0x20000};
    long[] offsets = {0x0, 0x20000};
    for (int round = 0; round < 25; round++) {
      // QEMU sends fresh dups of the same memfd each time.
      peer.send(MpqemuCommand.SYNC_SYSMEM, ProxyPeer.sysmem(gpas, sizes, offsets), fd, fd);
      assertStillInStep();
    }
    GuestMemory mem = function.memory;
    assertThat(mem).isNotNull();
    assertThat(mem.regionCount()).isEqualTo(2);
    assertThat(server.mappingCount()).isEqualTo(1);
    assertThat(FdProbe.mappings(memName)).isEqualTo(1);
    assertThat(FdProbe.openFds(memName)).as("only the test's own fd").isEqualTo(1);

    mem.putU32(0x20010, 0xcafef00dL);
    mem.putU8(0x5, 0x42);
    // The layout QEMU switches to later: one region over the same file.
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x40000}, new long[] {0}),
        fd);
    assertStillInStep();
    GuestMemory single = function.memory;
    assertThat(single.regionCount()).isEqualTo(1);
    assertThat(single.u32(0x20010)).isEqualTo(0xcafef00dL);
    assertThat(single.u8(0x5)).isEqualTo(0x42);
    assertThat(server.mappingCount()).isEqualTo(1);
    Posix.closeQuietly(fd);
  }

  @Test
  void syncSysmemReplacesTheMapAndRetiresDroppedFilesUntilReset() throws IOException {
    int a = Posix.memfd(memName, 0x10000);
    int b = Posix.memfd(memName, 0x10000);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x10000}, new long[] {0}),
        a);
    assertStillInStep();
    GuestMemory first = function.memory;
    first.putU32(0x100, 0x11111111L);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x10000}, new long[] {0}),
        b);
    assertStillInStep();
    Posix.closeQuietly(a);
    Posix.closeQuietly(b);
    assertThat(function.memory.u32(0x100)).as("new file").isZero();
    // The old view stays safe to touch (anonymous memory now), and the old file is released.
    assertThat(first.u32(0x100)).isZero();
    assertThat(FdProbe.mappings(memName)).isEqualTo(1);
    peer.send(MpqemuCommand.DEVICE_RESET, new byte[0]);
    assertThat(peer.readRet()).isZero();
    assertThat(function.resets).isEqualTo(1);
  }

  @Test
  void setIrqFdSignalsOnAssertAndOnResampleWhileAsserted() throws Exception {
    int irq = Posix.eventFd(Posix.EFD_NONBLOCK);
    int resample = Posix.eventFd(Posix.EFD_NONBLOCK);
    peer.send(MpqemuCommand.SET_IRQFD, new byte[0], irq, resample);
    assertStillInStep();
    intx.setLevel(true);
    assertThat(Posix.eventFdRead(irq)).isEqualTo(1);
    intx.setLevel(true);
    assertThat(Posix.eventFdRead(irq)).as("no second edge while high").isZero();
    Posix.eventFdWrite(resample, 1); // the guest EOI'd; KVM lowered the line
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    long got = 0;
    while (got == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
      got = Posix.eventFdRead(irq);
    }
    assertThat(got).as("re-signalled after resample").isEqualTo(1);
    intx.setLevel(false);
    Posix.eventFdWrite(resample, 1);
    assertStillInStep();
    assertThat(Posix.eventFdRead(irq)).as("no re-signal once low").isZero();
    Posix.closeQuietly(irq);
    Posix.closeQuietly(resample);
  }

  @Test
  void deviceResetIsAnswered() throws IOException {
    peer.send(MpqemuCommand.DEVICE_RESET, new byte[0]);
    assertThat(peer.readRet()).isZero();
    assertThat(function.resets).isEqualTo(1);
  }

  @Test
  void stopEndsServing() throws Exception {
    server.stop();
    thread.join(5000);
    assertThat(thread.isAlive()).isFalse();
  }

  // ---- bad input -------------------------------------------------------------------------

  @Test
  void unknownCommandIsAnsweredAllOnes() throws IOException {
    peer.send(42, new byte[] {1, 2, 3, 4});
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertStillInStep();
    assertThat(server.protocolErrors()).isEqualTo(1);
  }

  @Test
  void retFromTheProxyIsNotAnswered() throws IOException {
    peer.send(MpqemuCommand.RET, new byte[8]);
    assertStillInStep();
  }

  @Test
  void payloadLargerThanItsTypeIsAnsweredAllOnesAndFramingHolds() throws IOException {
    byte[] big = new byte[24];
    System.arraycopy(ProxyPeer.conf(0, 0, 2), 0, big, 0, 12);
    peer.send(MpqemuCommand.PCI_CFGREAD, big);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertStillInStep();
  }

  @Test
  void payloadLargerThanTheUnionIsDiscardedAndAnsweredAllOnes() throws IOException {
    peer.send(MpqemuCommand.BAR_READ, new byte[10_000]);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertStillInStep();
  }

  @Test
  void payloadShorterThanItsTypeIsAnsweredAllOnes() throws IOException {
    peer.send(MpqemuCommand.PCI_CFGWRITE, new byte[4]);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertThat(function.log).isEmpty();
    assertStillInStep();
  }

  @Test
  void fdsWhereNoneBelongAreClosedAndTheRequestRefused() throws IOException {
    int fd = Posix.memfd(memName, 4096);
    peer.send(MpqemuCommand.PCI_CFGREAD, ProxyPeer.conf(0, 0, 2), fd);
    assertThat(peer.readRet()).isEqualTo(ONES);
    peer.send(MpqemuCommand.DEVICE_RESET, new byte[0], fd, fd);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertThat(function.resets).as("refused reset not executed").isZero();
    programBars();
    peer.send(MpqemuCommand.BAR_WRITE, ProxyPeer.bar(BAR0, 7, 4, true), fd);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertThat(function.log).noneMatch(s -> s.startsWith("barw"));
    Posix.closeQuietly(fd);
    assertStillInStep();
    assertThat(FdProbe.openFds(memName)).isZero();
  }

  @Test
  void moreThanEightFdsAreAllClosed() throws IOException {
    int fd = Posix.memfd(memName, 4096);
    int[] many = new int[8];
    java.util.Arrays.fill(many, fd);
    peer.send(MpqemuCommand.PCI_CFGREAD, ProxyPeer.conf(0, 0, 2), many);
    assertThat(peer.readRet()).isEqualTo(ONES);
    Posix.closeQuietly(fd);
    assertStillInStep();
    assertThat(FdProbe.openFds(memName)).isZero();
  }

  @Test
  void setIrqFdWithMissingOrExtraFdsIsRefusedWithoutReply() throws IOException {
    int fd = Posix.memfd(memName, 4096);
    peer.send(MpqemuCommand.SET_IRQFD, new byte[0], fd);
    peer.send(MpqemuCommand.SET_IRQFD, new byte[0], fd, fd, fd);
    peer.send(MpqemuCommand.SET_IRQFD, new byte[0]);
    assertStillInStep();
    Posix.closeQuietly(fd);
    assertThat(FdProbe.openFds(memName)).isZero();
    assertThat(server.protocolErrors()).isEqualTo(3);
  }

  @Test
  void syncSysmemWithoutFdsIsRefusedWithoutReply() throws IOException {
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {4096}, new long[] {0}));
    assertStillInStep();
    assertThat(function.memory).isNull();
  }

  @Test
  void syncSysmemWithOverlappingRegionsKeepsThePreviousMapAndLeaksNothing() throws IOException {
    int fd = Posix.memfd(memName, 0x100000);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x100000}, new long[] {0}),
        fd);
    assertStillInStep();
    GuestMemory good = function.memory;
    int other = Posix.memfd(memName, 0x100000);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(
            new long[] {0x1000, 0x8000}, new long[] {0x8000, 0x1000}, new long[] {0, 0}),
        other,
        other);
    assertStillInStep();
    assertThat(function.memory).isSameAs(good);
    assertThat(FdProbe.mappings(memName)).isEqualTo(1);
    Posix.closeQuietly(fd);
    Posix.closeQuietly(other);
    assertThat(FdProbe.openFds(memName)).isZero();
    assertThat(server.protocolErrors()).isEqualTo(1);
  }

  @Test
  void syncSysmemWithZeroSizeOrOutOfFileRegionsIsRefused() throws IOException {
    int fd = Posix.memfd(memName, 0x10000);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0, 0x20000}, new long[] {0x1000, 0}, new long[] {0, 0}),
        fd,
        fd);
    // Past the end of the file (would SIGBUS), and a wrapping gpa range.
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x20000}, new long[] {0}),
        fd);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {-0x1000L}, new long[] {0x2000}, new long[] {0}),
        fd);
    // Eight fds: QEMU's own validator rejects that many.
    int[] eight = new int[8];
    java.util.Arrays.fill(eight, fd);
    peer.send(MpqemuCommand.SYNC_SYSMEM, new byte[192], eight);
    // A non-memory fd (an eventfd) as guest RAM.
    int efd = Posix.eventFd(0);
    peer.send(
        MpqemuCommand.SYNC_SYSMEM,
        ProxyPeer.sysmem(new long[] {0}, new long[] {0x1000}, new long[] {0}),
        efd);
    assertStillInStep();
    Posix.closeQuietly(fd);
    Posix.closeQuietly(efd);
    assertThat(function.memory).isNull();
    assertThat(server.protocolErrors()).isEqualTo(5);
    assertThat(FdProbe.openFds(memName)).isZero();
    assertThat(FdProbe.mappings(memName)).isZero();
  }

  @Test
  void barAccessOutsideEveryBarOrOfSize3IsAnsweredAllOnes() throws IOException {
    programBars();
    assertThat(peer.barRead(BAR0 + 0x1000, 4, true)).as("just past BAR0").isEqualTo(ONES);
    assertThat(peer.barRead(BAR0 + 0xffe, 4, true)).as("straddles BAR0's end").isEqualTo(ONES);
    assertThat(peer.barRead(BAR0 - 1, 1, true)).as("below BAR0").isEqualTo(ONES);
    assertThat(peer.barRead(BAR1, 4, true)).as("I/O BAR address as memory").isEqualTo(ONES);
    assertThat(peer.barRead(BAR0, 4, false)).as("memory BAR address as I/O").isEqualTo(ONES);
    assertThat(peer.barRead(BAR0, 3, true)).as("size 3").isEqualTo(ONES);
    assertThat(peer.barRead(BAR0, 16, true)).as("size 16").isEqualTo(ONES);
    assertThat(peer.barWrite(BAR0, 1, 3, true)).isEqualTo(ONES);
    assertThat(peer.barRead(0, 4, true)).as("address 0 with unprogrammed BARs").isEqualTo(ONES);
    assertThat(function.log).noneMatch(s -> s.startsWith("bar"));
    assertStillInStep();
    assertThat(server.protocolErrors()).isEqualTo(9);
  }

  @Test
  void configAccessOutsideConfigSpaceOrOfBadLengthIsAnsweredAllOnes() throws IOException {
    assertThat(peer.cfgRead(0x100, 1)).isEqualTo(ONES);
    assertThat(peer.cfgRead(0xfe, 4)).isEqualTo(ONES);
    assertThat(peer.cfgRead(0, 3)).isEqualTo(ONES);
    assertThat(peer.cfgRead(0, -1)).isEqualTo(ONES);
    assertThat(peer.cfgWrite(0x1000, 1, 4)).isEqualTo(ONES);
    assertThat(function.log).isEmpty();
    assertStillInStep();
  }

  @Test
  void deviceResetWithPayloadIsRefused() throws IOException {
    peer.send(MpqemuCommand.DEVICE_RESET, new byte[8]);
    assertThat(peer.readRet()).isEqualTo(ONES);
    assertThat(function.resets).isZero();
    assertStillInStep();
  }

  @Test
  void aFunctionThatThrowsIsAnsweredAllOnesAndTheSessionGoesOn() throws IOException {
    programBars();
    function.throwOnBarRead = new IllegalStateException("device bug");
    assertThat(peer.barRead(BAR0, 4, true)).isEqualTo(ONES);
    function.throwOnBarRead = null;
    assertThat(peer.barRead(BAR0 + 1, 1, true)).isEqualTo(0xA1);
  }

  @Test
  void peerClosingInsideAMessageEndsTheSessionWithAnError() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(3).putInt(0);
    try (com.sun.jna.Memory m = new com.sun.jna.Memory(8)) {
      m.write(0, b.array(), 0, 8);
      new dev.vdisk.qemu.natives.UnixMsgSocket(peer.fd()).send(m, 8, null, 0);
    }
    peer.close();
    thread.join(5000);
    assertThat(serverFailure.get()).isInstanceOf(java.io.EOFException.class);
    serverFailure.set(null);
  }
}
