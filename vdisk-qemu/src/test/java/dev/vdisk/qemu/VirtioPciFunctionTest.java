package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.RamDisk;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import dev.vdisk.qemu.natives.Posix;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * vdisk's virtio-pci function behind the codec, driven with the exact sequence QEMU 7.2's proxy
 * sends at realize (SYNC_SYSMEM, SET_IRQFD, ID reads, BAR probing of 0x10..0x28), then a BAR
 * placement and common-config accesses at absolute addresses, then DEVICE_RESET.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VirtioPciFunctionTest {
  private static final long BASE = 0xfe00_0000L;

  @ParameterizedTest
  @EnumSource(QemuProfile.class)
  void realizeSequenceThenCommonConfigAtAbsoluteAddresses(QemuProfile profile) throws Exception {
    int[] pair = Posix.socketPair();
    IntxEventFds intx = MpqemuServer.newIntxLine();
    try (RamDisk disk = RamDisk.create(1 << 20)) {
      VirtioPciFunction function = VirtioPciFunction.forBlock(disk, profile, intx, "t0");
      MpqemuServer server = new MpqemuServer(pair[0], function, intx);
      Thread thread =
          new Thread(
              () -> {
                try {
                  server.serve();
                } catch (Exception e) {
                  throw new AssertionError(e);
                }
              });
      thread.start();
      try (ProxyPeer peer = new ProxyPeer(pair[1])) {
        int mem = Posix.memfd("vdisk-pcifn", 1 << 20);
        peer.send(
            MpqemuCommand.SYNC_SYSMEM,
            ProxyPeer.sysmem(new long[] {0}, new long[] {1 << 20}, new long[] {0}),
            mem);
        Posix.closeQuietly(mem);
        int irq = Posix.eventFd(Posix.EFD_NONBLOCK);
        int resample = Posix.eventFd(Posix.EFD_NONBLOCK);
        peer.send(MpqemuCommand.SET_IRQFD, new byte[0], irq, resample);
        Posix.closeQuietly(irq);
        Posix.closeQuietly(resample);

        assertThat(peer.cfgRead(0x00, 2)).isEqualTo(0x1af4);
        assertThat(peer.cfgRead(0x02, 2)).isEqualTo(0x1042);
        assertThat(peer.cfgRead(0x0a, 2) >> 8).as("class: mass storage").isEqualTo(0x01);
        assertThat(peer.cfgRead(0x2e, 2))
            .as("subsystem id (OVMF wants >= 0x40)")
            .isGreaterThanOrEqualTo(0x40);
        assertThat(peer.cfgRead(0x08, 1)).as("revision").isEqualTo(1);
        assertThat(peer.cfgRead(0x3d, 1)).as("interrupt pin").isEqualTo(1);

        int bar = function.transport().layout().bar();
        long size = function.transport().layout().size();
        for (int i = 0; i <= 6; i++) {
          int off = 0x10 + 4 * i;
          long orig = peer.cfgRead(off, 4);
          peer.cfgWrite(off, 0xffff_ffffL, 4);
          long mask = peer.cfgRead(off, 4);
          peer.cfgWrite(off, orig, 4);
          if (i == bar) {
            assertThat(mask)
                .as("BAR%d: 32-bit non-prefetchable memory of 0x%x", i, size)
                .isEqualTo(~(size - 1) & 0xffff_ffffL);
          } else {
            assertThat(mask).as("unused BAR slot 0x%x", off).isZero();
          }
        }

        peer.cfgWrite(0x10 + 4 * bar, BASE, 4);
        peer.cfgWrite(0x04, 0x6, 2); // memory space + bus master
        long common = function.transport().layout().commonCfg().offset();
        long status = BASE + common + 0x14;
        assertThat(peer.barRead(status, 1, true)).isZero();
        peer.barWrite(status, 1, 1, true); // ACKNOWLEDGE
        assertThat(peer.barRead(status, 1, true)).isEqualTo(1);
        assertThat(peer.barRead(BASE + common + 0x12, 2, true)).as("num_queues").isEqualTo(1);
        assertThat(peer.barRead(BASE + size, 1, true)).as("past the BAR").isEqualTo(-1L);

        peer.send(MpqemuCommand.DEVICE_RESET, new byte[0]);
        assertThat(peer.readRet()).isZero();
        assertThat(peer.cfgRead(0x10 + 4 * bar, 4)).as("BAR back to unassigned").isZero();
        assertThat(peer.barRead(status, 1, true)).as("nothing decodes after reset").isEqualTo(-1L);
        assertThat(server.protocolErrors()).isEqualTo(2);
      }
      thread.join(5000);
      server.close();
    }
  }
}
