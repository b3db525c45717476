package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.FileDisk;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OVMF (q35, pflash) binds Virtio10Dxe + VirtioBlkDxe to vdisk's function behind the proxy (which
 * needs revision 1, subsystem ID >= 0x40 and a 32-bit BAR), the UEFI shell maps the FAT16 file
 * system on the disk, runs its startup.nsh, prints a file from it and shuts down.
 */
class OvmfShellIT {
  private static final Path CODE = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
  private static final Path VARS = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");

  @TempDir Path dir;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void uefiShellReadsAFileFromTheVdiskFatVolume() throws Exception {
    QemuProcess.requireFile(CODE, "ovmf");
    QemuProcess.requireFile(VARS, "ovmf");
    Path vars = dir.resolve("vars.fd");
    Files.copy(VARS, vars);
    String secret = "VDISK-OVMF-FILE-" + Long.toHexString(System.nanoTime());
    Path image =
        GuestAssets.fatImage(
            dir,
            16,
            Map.of(
                "startup.nsh",
                "echo VDISK-OVMF-STARTUP\nfs0:\ntype hello.txt\nreset -s\n",
                "hello.txt",
                secret + "\n"));
    List<String> extra =
        List.of(
            "-drive",
            "if=pflash,format=raw,unit=0,readonly=on,file=" + CODE,
            "-drive",
            "if=pflash,format=raw,unit=1,file=" + vars,
            "-device",
            "pcie-root-port,id=vdisk-port,chassis=1",
            "-no-reboot");
    try (FileDisk disk = FileDisk.open(image, false);
        QemuProcess qemu = QemuProcess.start(dir, "q35", 256, extra)) {
      AttachedDisk attached = AttachedDisk.attach(qemu, "vd0", disk, QemuProfile.DEFAULT, true);
      // q35's pcie.0 takes no hotplugged device: the attachment falls back to the empty port.
      assertThat(attached.status.get(0)).contains("on bus vdisk-port");
      int status = qemu.waitFor(240);
      String out = qemu.output();
      assertThat(out).as("the firmware printed:\n" + out).contains("VDISK-OVMF-STARTUP", secret);
      assertThat(status).as("QEMU exit after reset -s; the firmware printed:\n" + out).isZero();
      attached.awaitEnd();
    }
  }
}
