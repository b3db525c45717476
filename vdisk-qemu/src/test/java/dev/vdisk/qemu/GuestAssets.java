package dev.vdisk.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds what the guests of the integration tests boot: a boot sector assembled with binutils, a
 * busybox initramfs (newc cpio written here, no cpio tool needed) and a FAT16 image made with
 * dosfstools and mtools. Each tool missing makes the test fail with the Debian package to install.
 */
final class GuestAssets {
  private GuestAssets() {}

  /** Runs a command in {@code dir}, failing with its output if it does not exit 0 within 60 s. */
  static void run(Path dir, List<String> cmd) throws IOException, InterruptedException {
    QemuProcess.requireTool(cmd.get(0));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new AssertionError(
          String.join(" ", cmd) + " failed:\n" + new String(out, StandardCharsets.UTF_8));
    }
  }

  /**
   * A 512-byte MBR boot sector: prints {@code VDISK-BOOT} on COM1, reads LBA 1..2 with INT 13h
   * AH=42h to 0000:8000, prints the NUL-terminated text at the start of each of the two sectors,
   * and exits QEMU through isa-debug-exit at port 0xf4: value 0x31 (status 99) on success, 0x10
   * (status 33) when INT 13h reports an error.
   */
  static byte[] bootSector(Path dir) throws IOException, InterruptedException {
    String asm =
        """
        .code16
        .globl _start
        _start:
          cli
          xor %ax, %ax
          mov %ax, %ds
          mov %ax, %es
          mov %ax, %ss
          mov $0x7c00, %sp
          sti
          mov %dl, drive
          mov $hello, %si
          call print
          mov $0x42, %ah
          mov drive, %dl
          mov $dap, %si
          int $0x13
          jc fail
          mov $0x8000, %si
          call print
          mov $0x8200, %si
          call print
          mov $0x31, %al
          out %al, $0xf4
        fail:
          mov $failed, %si
          call print
          mov $0x10, %al
          out %al, $0xf4
        hang:
          hlt
          jmp hang
        print:
          lodsb
          test %al, %al
          jz 2f
          mov %al, %bl
          mov $0x3fd, %dx
        1:
          in %dx, %al
          test $0x20, %al
          jz 1b
          mov $0x3f8, %dx
          mov %bl, %al
          out %al, %dx
          jmp print
        2:
          ret
        drive: .byte 0
        .align 4
        dap:
          .byte 0x10, 0
          .word 2
          .word 0x8000, 0
          .quad 1
        hello: .asciz "VDISK-BOOT\\r\\n"
        failed: .asciz "VDISK-INT13-FAILED\\r\\n"
        . = _start + 510
        .byte 0x55, 0xaa
        """;
    Files.writeString(dir.resolve("boot.S"), asm);
    run(dir, List.of("as", "--32", "-o", "boot.o", "boot.S"));
    run(
        dir,
        List.of(
            "ld",
            "-m",
            "elf_i386",
            "-Ttext",
            "0x7c00",
            "--oformat",
            "binary",
            "-o",
            "boot.bin",
            "boot.o"));
    byte[] sector = Files.readAllBytes(dir.resolve("boot.bin"));
    if (sector.length != 512) {
      throw new AssertionError("boot sector is " + sector.length + " bytes (expected 512)");
    }
    return sector;
  }

  /** A newc ("070701") cpio archive, the format the kernel unpacks as an initramfs. */
  static final class Cpio {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int ino = 1;

    Cpio dir(String name) {
      return entry(name, 040755, new byte[0]);
    }

    Cpio file(String name, int mode, byte[] data) {
      return entry(name, 0100000 | mode, data);
    }

    Cpio file(String name, int mode, Path source) throws IOException {
      return file(name, mode, Files.readAllBytes(source));
    }

    private Cpio entry(String name, int mode, byte[] data) {
      byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
      String header =
          String.format(
              "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
              ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0);
      out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
      out.writeBytes(nameBytes);
      pad();
      out.writeBytes(data);
      pad();
      return this;
    }

    private void pad() {
      while (out.size() % 4 != 0) {
        out.write(0);
      }
    }

    byte[] finish() {
      entry("TRAILER!!!", 0, new byte[0]);
      return out.toByteArray();
    }
  }

  /** The running kernel's module directory (linux-image-amd64). */
  static Path modulesDir(Path kernel) {
    String name = kernel.getFileName().toString();
    String release = name.startsWith("vmlinuz-") ? name.substring("vmlinuz-".length()) : name;
    return Path.of("/lib/modules", release);
  }

  /** The newest /boot/vmlinuz-* (Debian's linux-image-amd64 or -cloud-amd64). */
  static Path kernel() throws IOException {
    try (var s = Files.list(Path.of("/boot"))) {
      return s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-"))
          .filter(Files::isReadable)
          .max(Path::compareTo)
          .orElseThrow(
              () -> new AssertionError("no readable /boot/vmlinuz-* (Debian: linux-image-amd64)"));
    }
  }

  /** A whole-disk FAT16 image of {@code mib} MiB holding {@code files} (name → text). */
  static Path fatImage(Path dir, int mib, java.util.Map<String, String> files)
      throws IOException, InterruptedException {
    Path img = dir.resolve("fat.img");
    Files.deleteIfExists(img);
    run(dir, List.of("mkfs.fat", "-F", "16", "-C", img.toString(), Integer.toString(mib * 1024)));
    for (var e : files.entrySet()) {
      Path f = dir.resolve(e.getKey());
      Files.writeString(f, e.getValue().replace("\n", "\r\n"));
      run(dir, List.of("mcopy", "-i", img.toString(), f.toString(), "::" + e.getKey()));
    }
    return img;
  }
}
