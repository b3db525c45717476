package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.backend.FileDisk;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linux 6.1's virtio_pci (modern) + virtio_blk drive two vdisk functions behind the proxy, one
 * read-write and one read-only, in one boot: the guest lists 1AF4:1042 revision 1, reads each whole
 * disk (md5 equal to the host image's), writes a pattern with {@code conv=fsync} that the host then
 * finds in the image file, and fails to write the read-only disk (whose file stays unchanged). No
 * interrupt reaches the guest under TCG, hence {@code irqpoll nolapic pci=nomsi} (the INTx handler
 * runs from the timer tick and reads the read-to-clear ISR).
 */
class LinuxGuestIT {
  private static final long PATTERN_SECTOR = 2048;
  private static final String[] MODULES = {
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/block/virtio_blk.ko"
  };

  /** The guest's script: every I/O under a timeout so a device bug prints, never hangs. */
  private static final String INIT =
      """
      #!/bin/busybox sh
      /bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /sbin /usr/sbin
      /bin/busybox --install -s
      mount -t proc proc /proc
      mount -t sysfs sysfs /sys
      mount -t devtmpfs devtmpfs /dev
      for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
        insmod /lib/$m.ko || echo "VDISK insmod $m failed"
      done
      # virtio_blk's partition scan blocks until a request completes: load it in the background.
      insmod /lib/virtio_blk.ko &
      for d in /sys/bus/pci/devices/*; do
        echo "VDISK PCI $(cat $d/vendor) $(cat $d/device) $(cat $d/revision)"
      done
      i=0
      while [ $i -lt 300 ] && ! { [ -b /dev/vda ] && [ -b /dev/vdb ]; }; do
        sleep 0.1; i=$((i+1))
      done
      nonce=$(sed -n 's/.*vdisk.nonce=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
      i=0
      while [ $i -lt 16 ]; do printf 'VDISK-PATTERN-%s-%02d\\n' "$nonce" $i; i=$((i+1)); done > /tmp/pattern
      for b in /sys/block/vd*; do
        n=${b##*/}
        echo "VDISK DISK $n $(cat $b/size) $(cat $b/ro)"
        echo "VDISK SUM $n $(timeout 60 md5sum /dev/$n | cut -d' ' -f1)"
        timeout 60 dd if=/tmp/pattern of=/dev/$n bs=512 count=1 seek=@SECTOR@ conv=fsync 2>/tmp/dd.err
        echo "VDISK WRITE $n rc=$? $(tr '\\n' ' ' < /tmp/dd.err)"
      done
      echo "VDISK DONE"
      poweroff -f
      """;

  @TempDir Path dir;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void linuxReadsWritesAndRespectsReadOnly() throws Exception {
    Path kernel = GuestAssets.kernel();
    Path modules = GuestAssets.modulesDir(kernel);
    Path busybox = Path.of("/bin/busybox");
    QemuProcess.requireFile(busybox, "busybox-static");
    GuestAssets.Cpio cpio =
        new GuestAssets.Cpio().dir("bin").dir("lib").dir("dev").dir("proc").dir("sys").dir("tmp");
    cpio.file("bin/busybox", 0755, busybox);
    cpio.file(
        "init",
        0755,
        INIT.replace("@SECTOR@", Long.toString(PATTERN_SECTOR))
            .getBytes(StandardCharsets.US_ASCII));
    for (String m : MODULES) {
      Path ko = modules.resolve(m);
      QemuProcess.requireFile(ko, "linux-image-amd64 (module " + ko.getFileName() + ")");
      cpio.file("lib/" + ko.getFileName(), 0644, ko);
    }
    Path initrd = dir.resolve("initrd.cpio");
    Files.write(initrd, cpio.finish());

    Path rwFile = dir.resolve("rw.img");
    Path roFile = dir.resolve("ro.img");
    Files.write(rwFile, random(8 << 20, 1));
    Files.write(roFile, random(4 << 20, 2));
    String rwSum = md5(rwFile);
    String roSum = md5(roFile);
    String nonce = Long.toHexString(System.nanoTime() & 0xffff_ffffL);

    List<String> extra =
        List.of(
            "-kernel",
            kernel.toString(),
            "-initrd",
            initrd.toString(),
            "-append",
            "console=ttyS0 panic=-1 quiet irqpoll nolapic pci=nomsi vdisk.nonce=" + nonce,
            "-no-reboot");
    try (FileDisk rw = FileDisk.open(rwFile, false);
        FileDisk ro = FileDisk.open(roFile, true);
        QemuProcess qemu = QemuProcess.start(dir, "pc", 256, extra)) {
      AttachedDisk a = AttachedDisk.attach(qemu, "rw0", rw, QemuProfile.DEFAULT, false);
      AttachedDisk b = AttachedDisk.attach(qemu, "ro0", ro, QemuProfile.DEFAULT, true);
      int status = qemu.waitFor(240);
      String out = qemu.output();
      String why = "the guest printed:\n" + out;
      assertThat(out).as(why).contains("VDISK DONE");
      assertThat(status).as(why).isZero();

      assertThat(lines(out, "VDISK PCI 0x1af4 0x1042 (\\S+)"))
          .as(why)
          .containsExactly("0x01", "0x01");
      // vda/vdb order follows PCI slots: rw0 was added first.
      assertThat(lines(out, "VDISK DISK vda (\\d+ \\d)"))
          .as(why)
          .containsExactly((8 << 20) / 512 + " 0");
      assertThat(lines(out, "VDISK DISK vdb (\\d+ \\d)"))
          .as(why)
          .containsExactly((4 << 20) / 512 + " 1");
      assertThat(lines(out, "VDISK SUM vda (\\S+)")).as(why).containsExactly(rwSum);
      assertThat(lines(out, "VDISK SUM vdb (\\S+)")).as(why).containsExactly(roSum);
      assertThat(lines(out, "VDISK WRITE vda rc=(\\d+).*")).as(why).containsExactly("0");
      assertThat(lines(out, "VDISK WRITE vdb rc=(\\d+).*")).as(why).doesNotContain("0").hasSize(1);

      StringBuilder pattern = new StringBuilder();
      for (int i = 0; i < 16; i++) {
        pattern.append(String.format("VDISK-PATTERN-%s-%02d\n", nonce, i));
      }
      byte[] expected = pattern.toString().getBytes(StandardCharsets.US_ASCII);
      byte[] host = Files.readAllBytes(rwFile);
      byte[] got = new byte[expected.length];
      System.arraycopy(host, (int) (PATTERN_SECTOR * 512), got, 0, got.length);
      assertThat(new String(got, StandardCharsets.US_ASCII))
          .as("pattern in the host file; " + why)
          .isEqualTo(pattern.toString());
      assertThat(md5(roFile)).as("read-only image unchanged").isEqualTo(roSum);
      a.awaitEnd();
      b.awaitEnd();
    }
  }

  private static List<String> lines(String out, String regex) {
    Matcher m = Pattern.compile("^" + regex + "\\r?$", Pattern.MULTILINE).matcher(out);
    List<String> found = new ArrayList<>();
    while (m.find()) {
      found.add(m.group(1));
    }
    return found;
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static String md5(Path file) throws IOException {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(file)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
