package dev.vdisk.memdisk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Disk images for the MEMDISK integration test, made with the real tools (mkfs.vfat, mcopy,
 * xorriso). Every boot sector starts executing at {@code cli; hlt; jmp $-3} so the guest halts
 * right after MEMDISK boots it and memory stops changing (spec §10).
 */
final class TestImages {
  /** cli; hlt; jmp back to hlt. */
  static final byte[] HALT = {(byte) 0xFA, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD};

  static final String HELLO = "vdisk-memdisk integration test: hello from a RAM disk\r\n";

  private TestImages() {}

  /** A 1.44 MB FAT12 floppy with HELLO.TXT; its boot code halts (the BPB stays intact). */
  static Path floppy(Path dir) throws IOException, InterruptedException {
    Path img = dir.resolve("fd.img");
    Path hello = Files.writeString(dir.resolve("hello.txt"), HELLO);
    Tools.run(
        dir, Tools.require("mkfs.vfat", "dosfstools").toString(), "-C", img.toString(), "1440");
    Tools.run(
        dir,
        Tools.require("mcopy", "mtools").toString(),
        "-i",
        img.toString(),
        hello.toString(),
        "::HELLO.TXT");
    patchFatBootCode(img);
    return img;
  }

  /** Puts HALT where a FAT boot sector's {@code EB xx} jump lands. */
  static void patchFatBootCode(Path img) throws IOException {
    byte[] b = Files.readAllBytes(img);
    if ((b[0] & 0xFF) != 0xEB) {
      throw new AssertionError("FAT boot sector of " + img + " does not start with a short jump");
    }
    int target = 2 + (b[1] & 0xFF);
    System.arraycopy(HALT, 0, b, target, HALT.length);
    Files.write(img, b);
  }

  /**
   * A hard disk of 16 cylinders x 16 heads x 63 sectors (8 064 KiB) with an MBR whose one FAT16
   * partition (from LBA 63) ends at C/H/S 15/15/63, so MEMDISK takes 16/16/63 from it.
   */
  static Path hardDisk(Path dir) throws IOException, InterruptedException {
    int c = 16;
    int h = 16;
    int s = 63;
    int total = c * h * s;
    int start = 63;
    Path part = dir.resolve("part.img");
    Files.write(part, new byte[(total - start) * 512]);
    Path hello = Files.writeString(dir.resolve("hello-hd.txt"), HELLO);
    Tools.run(
        dir, Tools.require("mkfs.vfat", "dosfstools").toString(), "-h", "63", part.toString());
    Tools.run(
        dir,
        Tools.require("mcopy", "mtools").toString(),
        "-i",
        part.toString(),
        hello.toString(),
        "::HELLO.TXT");
    byte[] disk = new byte[total * 512];
    ByteBuffer mbr = ByteBuffer.wrap(disk).order(ByteOrder.LITTLE_ENDIAN);
    mbr.put(0, HALT);
    mbr.putInt(440, 0x5644534B); // disk signature "KSDV"
    int e = 446;
    disk[e] = (byte) 0x80;
    putChs(disk, e + 1, 0, 1, 1);
    disk[e + 4] = 0x06; // FAT16
    putChs(disk, e + 5, c - 1, h - 1, s);
    mbr.putInt(e + 8, start);
    mbr.putInt(e + 12, total - start);
    disk[510] = 0x55;
    disk[511] = (byte) 0xAA;
    byte[] fat = Files.readAllBytes(part);
    System.arraycopy(fat, 0, disk, start * 512, fat.length);
    Path img = dir.resolve("hd.img");
    Files.write(img, disk);
    return img;
  }

  private static void putChs(byte[] b, int at, int cyl, int head, int sector) {
    b[at] = (byte) head;
    b[at + 1] = (byte) ((sector & 0x3F) | ((cyl >>> 2) & 0xC0));
    b[at + 2] = (byte) cyl;
  }

  /** A no-emulation El Torito ISO whose 2048-byte boot image halts. */
  static Path noEmulationIso(Path dir) throws IOException, InterruptedException {
    Path root = Files.createDirectories(dir.resolve("isoroot/boot"));
    byte[] boot = new byte[2048];
    System.arraycopy(HALT, 0, boot, 0, HALT.length);
    Files.write(root.resolve("x.bin"), boot);
    Files.writeString(dir.resolve("isoroot/hello.txt"), HELLO, StandardCharsets.US_ASCII);
    Path iso = dir.resolve("cd.iso");
    mkisofs(dir, "isoroot", iso, "-b", "boot/x.bin", "-no-emul-boot", "-boot-load-size", "4");
    return iso;
  }

  /** An El Torito ISO that emulates {@code floppy} (1.44 MB) as its boot image. */
  static Path floppyEmulationIso(Path dir, Path floppy) throws IOException, InterruptedException {
    Path root = Files.createDirectories(dir.resolve("feroot/boot"));
    Files.copy(floppy, root.resolve("floppy.img"));
    Files.writeString(dir.resolve("feroot/hello.txt"), HELLO, StandardCharsets.US_ASCII);
    Path iso = dir.resolve("fe.iso");
    mkisofs(dir, "feroot", iso, "-b", "boot/floppy.img");
    return iso;
  }

  private static void mkisofs(Path dir, String root, Path iso, String... boot)
      throws IOException, InterruptedException {
    String[] head;
    try {
      head =
          new String[] {Tools.require("xorriso", "xorriso").toString(), "-as", "mkisofs", "-quiet"};
    } catch (AssertionError noXorriso) {
      head =
          new String[] {
            Tools.require("genisoimage", "xorriso or genisoimage").toString(), "-quiet"
          };
    }
    String[] cmd = new String[head.length + boot.length + 3];
    System.arraycopy(head, 0, cmd, 0, head.length);
    System.arraycopy(boot, 0, cmd, head.length, boot.length);
    cmd[cmd.length - 3] = "-o";
    cmd[cmd.length - 2] = iso.toString();
    cmd[cmd.length - 1] = root;
    Tools.run(dir, cmd);
  }
}
