package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.FileDisk;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SeaBIOS (QEMU's default BIOS on {@code pc}) finds vdisk's virtio-blk function behind the proxy,
 * boots its MBR, and the boot sector reads LBA 1..2 through INT 13h AH=42h (SeaBIOS's virtio-blk
 * driver, polling the used ring), prints both sectors' markers and exits QEMU with status 99.
 */
class SeabiosBootIT {
  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(QemuProfile.class)
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void biosBootsFromVdiskAndReadsThroughInt13(QemuProfile profile) throws Exception {
    QemuProcess.requireFile(Path.of("/usr/share/seabios/bios-256k.bin"), "seabios");
    byte[] image = new byte[1 << 20];
    System.arraycopy(GuestAssets.bootSector(dir), 0, image, 0, 512);
    put(image, 512, "VDISK-LBA1-MARKER-" + profile + "\r\n");
    put(image, 1024, "VDISK-LBA2-MARKER-" + profile + "\r\n");
    Path file = dir.resolve("boot.img");
    Files.write(file, image);
    try (FileDisk disk = FileDisk.open(file, false);
        QemuProcess qemu =
            QemuProcess.start(
                dir,
                "pc",
                64,
                List.of("-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot"))) {
      AttachedDisk attached = AttachedDisk.attach(qemu, "vd0", disk, profile, true);
      int status = qemu.waitFor(120);
      String out = qemu.output();
      assertThat(out)
          .as("serial output")
          .contains("VDISK-BOOT", "VDISK-LBA1-MARKER-" + profile, "VDISK-LBA2-MARKER-" + profile)
          .doesNotContain("VDISK-INT13-FAILED");
      assertThat(status)
          .as("isa-debug-exit status (0x31 -> 99); QEMU printed:\n" + out)
          .isEqualTo(99);
      attached.awaitEnd();
    }
  }

  private static void put(byte[] image, int offset, String text) {
    byte[] b = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, image, offset, b.length);
  }

  @Test
  void bootSectorIsWellFormed() throws Exception {
    byte[] sector = GuestAssets.bootSector(dir);
    assertThat(sector[510]).isEqualTo((byte) 0x55);
    assertThat(sector[511]).isEqualTo((byte) 0xaa);
  }
}
