package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.GuestMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the installer writes, the probe finds: field for field. */
class MemdiskInstallerTest {
  @TempDir Path dir;

  @Test
  void installedFloppyIsFoundWithEveryField() throws Exception {
    Path image = Files.write(dir.resolve("fd.img"), pattern(1474560));
    try (GuestMemory m = Images.pc(8 << 20)) {
      MemdiskInstaller.Installed in =
          MemdiskInstaller.install(
              m, MemdiskLayout.floppy(0x300000).withCommandLine("floppy"), image);
      assertThat(in.segment()).isEqualTo(638 * 64);
      assertThat(m.u16(0x413)).isEqualTo(638);
      assertThat(in.previousInt13()).isEqualTo(Images.BIOS_INT13);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.rejected()).isEmpty();
      assertThat(r.warnings()).isEmpty();
      assertThat(r.hooks())
          .singleElement()
          .satisfies(
              h -> {
                assertThat(h.address()).isEqualTo(in.hookAddress());
                assertThat(h.vector()).isEqualTo("9F80:000A");
                assertThat(h.mbft()).isEqualTo(in.mbftAddress());
                assertThat(h.prev()).isEqualTo("F000:E3FE");
              });
      MemdiskInfo info = r.memdisks().get(0);
      assertThat(info.warnings()).isEmpty();
      assertThat(info.version()).isEqualTo("6.04");
      assertThat(info.commandLine()).isEqualTo("floppy");
      assertThat(info.oldDosMemKib()).isEqualTo(639);
      assertThat(info.oldInt13()).isEqualTo("F000:E3FE");
      assertThat(info.oldInt15()).isEqualTo("F000:F859");
      assertThat(info.edd().totalSectors()).isEqualTo(2880);
      MemoryDisk d = r.disks().get(0);
      assertThat(d.address()).isEqualTo(0x300000);
      assertThat(d.size()).isEqualTo(1474560);
      assertThat(d.media()).isEqualTo(Media.FLOPPY);
      assertThat(new long[] {d.cylinders(), d.heads(), d.sectors()}).containsExactly(80, 2, 18);
      byte[] back = new byte[1474560];
      m.read(0x300000, back, 0, back.length);
      assertThat(back).isEqualTo(Files.readAllBytes(image));
    }
  }

  @Test
  void cdromAndReadOnlyHardDisk() {
    try (GuestMemory m = Images.pc(16 << 20)) {
      MemdiskInstaller.install(m, MemdiskLayout.cdrom(0x200000, 1 << 20));
      ProbeResult cd = MemdiskProbe.probe(m);
      assertThat(cd.rejected()).isEmpty();
      MemoryDisk c = cd.disks().get(0);
      assertThat(c.cdrom()).isTrue();
      assertThat(c.sectorSize()).isEqualTo(2048);
      assertThat(c.lbaCount()).isEqualTo(512);
      assertThat(c.biosDrive()).isEqualTo(0xE0);
      assertThat(cd.memdisks().get(0).cdPacket()).isNotNull();
      assertThat(cd.memdisks().get(0).commandLine()).isEqualTo("iso");
    }
    try (GuestMemory m = Images.pc(16 << 20)) {
      MemdiskInstaller.install(m, MemdiskLayout.hardDisk(0x400000, 8 << 20).withReadOnly(true));
      MemoryDisk h = MemdiskProbe.probe(m).disks().get(0);
      assertThat(h.media()).isEqualTo(Media.HARD_DISK);
      assertThat(h.readOnly()).isTrue();
      assertThat(h.geometry().chsSectors()).isLessThanOrEqualTo(h.lbaCount());
      assertThat(MemoryDiskDevice.open(m, h).isReadOnly()).isTrue();
    }
  }

  @Test
  void installingTwiceChains() {
    try (GuestMemory m = Images.pc(16 << 20)) {
      MemdiskInstaller.Installed first =
          MemdiskInstaller.install(m, MemdiskLayout.floppy(0x200000));
      MemdiskInstaller.Installed second =
          MemdiskInstaller.install(m, MemdiskLayout.hardDisk(0x800000, 4 << 20));
      assertThat(second.previousInt13()).isEqualTo(RealMode.vector(first.segment(), 0x0A));
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.rejected()).isEmpty();
      assertThat(r.hooks())
          .extracting(HookInfo::address)
          .containsExactly(second.hookAddress(), first.hookAddress());
      assertThat(r.disks()).extracting(MemoryDisk::address).containsExactly(0x800000L, 0x200000L);
    }
  }

  @Test
  void refusesWhatMemdiskCouldNotHaveDone() {
    assertThatThrownBy(() -> MemdiskLayout.floppy(0x8000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(">= 1 MiB");
    assertThatThrownBy(() -> MemdiskLayout.hardDisk(0xFFF00000L, 2 << 20))
        .hasMessageContaining("below 4 GiB");
    assertThatThrownBy(() -> MemdiskLayout.floppy(0x200000).withCommandLine("é"))
        .hasMessageContaining("ASCII");
    try (GuestMemory m = Images.pc(3 << 20)) {
      assertThatThrownBy(() -> MemdiskInstaller.install(m, MemdiskLayout.floppy(0x1C0000)))
          .hasMessageContaining("not wholly in guest memory");
      m.putU16(0x413, 0);
      assertThatThrownBy(() -> MemdiskInstaller.install(m, MemdiskLayout.floppy(0x100000)))
          .hasMessageContaining("0x413 = 0 KiB");
    }
    try (GuestMemory m = GuestMemory.allocate(0x100000, 4 << 20)) {
      assertThatThrownBy(() -> MemdiskInstaller.install(m, MemdiskLayout.floppy(0x200000)))
          .hasMessageContaining("no IVT/BDA");
    }
  }

  @Property(tries = 50)
  void probeFindsExactlyWhatWasInstalled(@ForAll("layouts") MemdiskLayout layout) {
    try (GuestMemory m = Images.pc(40 << 20)) {
      MemdiskInstaller.install(m, layout);
      ProbeResult r = ProbePropertiesTest.probeStrictly(m, ProbeOptions.DEFAULTS);
      assertThat(r.rejected()).isEmpty();
      MemoryDisk d = r.disks().get(0);
      assertThat(d.address()).isEqualTo(layout.diskAddress());
      assertThat(d.lbaCount()).isEqualTo(layout.sectors());
      assertThat(d.media()).isEqualTo(layout.media());
      assertThat(d.readOnly()).isEqualTo(layout.readOnly());
      assertThat(d.cylinders()).isEqualTo(layout.cylinders());
      assertThat(d.heads()).isEqualTo(layout.heads());
      assertThat(d.sectors()).isEqualTo(layout.sectorsPerTrack());
      assertThat(r.memdisks().get(0).commandLine()).isEqualTo(layout.commandLine());
    }
  }

  @Provide
  Arbitrary<MemdiskLayout> layouts() {
    return Combinators.combine(
            Arbitraries.longs().between(1 << 8, 20 << 11).map(a -> a << 9), // 128 KiB .. 20 MiB
            Arbitraries.longs().between(1, 16 << 11),
            Arbitraries.of(Media.class),
            Arbitraries.integers().between(0, 0xFFFF),
            Arbitraries.integers().between(0, 255),
            Arbitraries.integers().between(0, 63),
            Arbitraries.of(true, false),
            Arbitraries.strings().ascii().ofMaxLength(255).filter(s -> s.indexOf('\0') < 0))
        .as(
            (addr, sectors, media, c, h, s, ro, cmd) ->
                new MemdiskLayout(
                    Math.max(1 << 20, addr),
                    media == Media.CDROM ? Math.max(1, sectors / 4) : sectors,
                    media,
                    c,
                    h,
                    s,
                    ro,
                    cmd));
  }

  private static byte[] pattern(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 13 + (i >>> 9));
    }
    return b;
  }
}
