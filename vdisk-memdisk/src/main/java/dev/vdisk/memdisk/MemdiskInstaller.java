package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The inverse of the probe: writes MEMDISK 6.04-compatible structures (resident block with safe
 * hook, mBFT, MDI, patch area, EDD table, El Torito packet, command line) into a guest's low memory
 * and hooks INT 13h, so that a guest driver that looks for MEMDISK (WinVBlock, syslinux's {@code
 * memdiskfind}, vdisk's own probe) finds the RAM disk an emulator put in guest RAM.
 *
 * <p>The resident block takes 1 KiB from the top of base memory (word 0x413 is lowered, as MEMDISK
 * does). Its INT 13h handler is a stub that passes every call on to the previous vector: the
 * emulator's firmware must serve the drive through INT 13h itself if the guest boots from it. INT
 * 15h is not hooked (hiding the disk from the E820 map is the emulator's job), and BDA drive counts
 * are left alone. Installing twice chains the second in front of the first.
 */
public final class MemdiskInstaller {
  /** Block layout (offsets from the block start). */
  static final int BLOCK_KIB = 1;

  static final int HOOK = 0x00A;
  static final int INT13_STUB = 0x040;
  static final int INT15_STUB = 0x048;
  static final int IRET = 0x050;
  static final int MBFT = 0x060;
  static final int MDI = MBFT + Mbft.MDI_OFFSET;
  static final int CMDLINE = 0x140; // after the El Torito packet (MDI + 154 + 19 = 0x135)
  static final int END = CMDLINE + 256;

  private MemdiskInstaller() {}

  /** Where the structures went. */
  public record Installed(int segment, long hookAddress, long mbftAddress, long previousInt13) {}

  /** Copies {@code image} into the disk's place, then installs the structures. */
  public static Installed install(GuestMemory memory, MemdiskLayout layout, Path image)
      throws IOException {
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
      if (ch.size() != layout.sizeBytes()) {
        throw new IllegalArgumentException(
            image + " has " + ch.size() + " bytes, the layout " + layout.sizeBytes());
      }
      checkDiskPlace(memory, layout);
      byte[] chunk = new byte[1 << 20];
      long off = 0;
      while (off < layout.sizeBytes()) {
        ByteBuffer b =
            ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, layout.sizeBytes() - off));
        int n = ch.read(b, off);
        if (n <= 0) {
          throw new IOException(image + " shrank while being read");
        }
        memory.write(layout.diskAddress() + off, chunk, 0, n);
        off += n;
      }
    }
    return install(memory, layout);
  }

  /**
   * Writes the structures for a disk the caller already placed at {@code layout.diskAddress()}.
   * Throws {@link IllegalArgumentException} naming the problem when the memory cannot take them.
   */
  public static Installed install(GuestMemory memory, MemdiskLayout layout) {
    if (!Bounds.mapped(memory, 0, LowMemory.IVT_BDA_END)) {
      throw new IllegalArgumentException(
          "guest memory has no IVT/BDA at 0x0-0x4FF (mapped: " + memory.describeRanges() + ")");
    }
    checkDiskPlace(memory, layout);
    int oldKib = memory.u16(LowMemory.BASE_MEMORY_KIB);
    if (oldKib <= 64 || oldKib > 640) {
      throw new IllegalArgumentException(
          "base memory word 0x413 = " + oldKib + " KiB (expected 65..640)");
    }
    int newKib = oldKib - BLOCK_KIB;
    int segment = newKib * 64;
    long s = (long) segment << 4;
    if (!Bounds.mapped(memory, s, (long) BLOCK_KIB * 1024)) {
      throw new IllegalArgumentException(String.format("block at 0x%x is not mapped", s));
    }
    long oldInt13 = memory.u32(LowMemory.INT13_VECTOR);
    long oldInt15 = memory.u32(LowMemory.INT15_VECTOR);
    long oldInt1e = memory.u32(LowMemory.INT1E_VECTOR);
    memory.fill(s, (long) BLOCK_KIB * 1024, (byte) 0);

    // Header: INT 13h entry, INT 15h entry, MDI, end of code, IRET.
    memory.putU16(s, HOOK);
    memory.putU16(s + 2, INT15_STUB);
    memory.putU16(s + 4, MDI);
    memory.putU16(s + 6, END);
    memory.putU16(s + 8, IRET);
    // Safe hook: jump over it to the stub.
    long h = s + HOOK;
    memory.putU8(h, 0xE9);
    memory.putU16(h + 1, INT13_STUB - (HOOK + 3));
    memory.putU64(h + SafeHook.SIGNATURE_OFFSET, SafeHook.SIGNATURE);
    memory.putU64(h + SafeHook.VENDOR_OFFSET, SafeHook.VENDOR_MEMDISK);
    memory.putU32(h + SafeHook.PREV_OFFSET, oldInt13);
    memory.putU32(h + SafeHook.FLAGS_OFFSET, 0);
    memory.putU32(h + SafeHook.MBFT_OFFSET, s + MBFT);
    // Stubs: jmp far cs:[oldint13] / [oldint15] (2E FF 2E disp16), and an IRET.
    farJump(memory, s + INT13_STUB, MDI + Mdi.OLDINT13_OFFSET);
    farJump(memory, s + INT15_STUB, MDI + Mdi.OLDINT15_OFFSET);
    memory.putU8(s + IRET, 0xCF);
    // mBFT header.
    long t = s + MBFT;
    memory.putU32(t, Mbft.SIGNATURE);
    memory.putU32(t + Mbft.LENGTH_OFFSET, Mbft.HEADER_SIZE + Mdi.BYTES_3_71);
    memory.putU8(t + Mbft.REVISION_OFFSET, 1);
    ascii(memory, t + Mbft.OEM_ID_OFFSET, "MEMDSK");
    ascii(memory, t + Mbft.OEM_TABLE_ID_OFFSET, "Syslinux");
    memory.putU32(t + Mbft.SAFE_HOOK_OFFSET, h);
    // MDI.
    long d = s + MDI;
    int shift = layout.sectorShift();
    memory.putU16(d + Mdi.BYTES_OFFSET, Mdi.BYTES_3_71);
    memory.putU8(d + Mdi.VERSION_MINOR_OFFSET, 4);
    memory.putU8(d + Mdi.VERSION_MAJOR_OFFSET, 6);
    memory.putU32(d + Mdi.DISKBUF_OFFSET, layout.diskAddress());
    memory.putU32(d + Mdi.DISKSIZE_OFFSET, layout.sectors());
    memory.putU32(d + Mdi.CMDLINE_OFFSET, RealMode.vector(segment, CMDLINE));
    memory.putU32(d + Mdi.OLDINT13_OFFSET, oldInt13);
    memory.putU32(d + Mdi.OLDINT15_OFFSET, oldInt15);
    memory.putU16(d + Mdi.OLDDOSMEM_OFFSET, oldKib);
    memory.putU8(d + Mdi.BOOTLOADERID_OFFSET, 0);
    memory.putU8(d + Mdi.SECTOR_SHIFT_OFFSET, shift);
    memory.putU16(d + Mdi.DPT_PTR_OFFSET, 0);
    // Patch area.
    int drive = layout.driveNumber();
    memory.putU8(d + Mdi.DRIVESHIFTLIMIT_OFFSET, 0xFF);
    memory.putU16(d + Mdi.CYLINDERS_OFFSET, layout.cylinders());
    memory.putU16(d + Mdi.HEADS_OFFSET, layout.heads());
    memory.putU32(d + Mdi.SECTORS_OFFSET, layout.sectorsPerTrack());
    memory.putU8(d + Mdi.DRIVENO_OFFSET, drive);
    memory.putU8(d + Mdi.DRIVETYPE_OFFSET, layout.media() == Media.FLOPPY ? 4 : 0);
    memory.putU8(d + Mdi.DRIVECNT_OFFSET, 1);
    memory.putU8(
        d + Mdi.CONFIGFLAGS_OFFSET,
        Mdi.CONFIG_SAFEINT | (layout.readOnly() ? Mdi.CONFIG_READONLY : 0));
    memory.putU16(d + Mdi.STATUSPTR_OFFSET, layout.media() == Media.FLOPPY ? 0x441 : 0x474);
    memory.putU32(d + Mdi.OLD_INT1E_OFFSET, oldInt1e);
    writeEdd(memory, d, layout, drive);
    if (layout.media() == Media.CDROM) {
      long c = d + Mdi.CD_PACKET_OFFSET;
      memory.putU8(c + Mdi.CD_SIZE_OFFSET, Mdi.CD_PACKET_MARK);
      memory.putU8(c + Mdi.CD_MEDIA_OFFSET, 0);
      memory.putU8(c + Mdi.CD_DRIVE_OFFSET, drive);
      memory.putU16(c + Mdi.CD_SECTOR_COUNT_OFFSET, 4);
    }
    byte[] cmd = layout.commandLine().getBytes(StandardCharsets.US_ASCII);
    memory.write(s + CMDLINE, cmd, 0, cmd.length);
    // Checksum last (MEMDISK writes the signature last; the table is consistent from here on).
    int sum = new Mbft().wrap(memory, t).sum(Mbft.HEADER_SIZE + Mdi.BYTES_3_71);
    memory.putU8(t + Mbft.CHECKSUM_OFFSET, -sum & 0xFF);
    // Hook: lower base memory, then point INT 13h at the safe hook.
    memory.putU16(LowMemory.BASE_MEMORY_KIB, newKib);
    memory.putU32(LowMemory.INT13_VECTOR, RealMode.vector(segment, HOOK));
    return new Installed(segment, h, t, oldInt13);
  }

  private static void writeEdd(GuestMemory memory, long mdi, MemdiskLayout layout, int drive) {
    long e = mdi + Mdi.EDD_OFFSET;
    boolean cd = layout.media() == Media.CDROM;
    memory.putU16(e + Mdi.EDD_LENGTH_OFFSET, Mdi.EDD_LENGTH);
    int flags = cd ? 0 : Mdi.EDD_FLAG_CHS_VALID;
    if (layout.media() == Media.FLOPPY) {
      flags |= 0x04 | 0x10; // removable, change line
    }
    memory.putU16(e + Mdi.EDD_FLAGS_OFFSET, flags);
    memory.putU32(e + Mdi.EDD_CYLINDERS_OFFSET, cd ? 0 : layout.cylinders());
    memory.putU32(e + Mdi.EDD_HEADS_OFFSET, cd ? 0 : layout.heads());
    memory.putU32(e + Mdi.EDD_SECTORS_OFFSET, cd ? 0 : layout.sectorsPerTrack());
    memory.putU64(e + Mdi.EDD_TOTAL_SECTORS_OFFSET, layout.sectors());
    memory.putU16(e + Mdi.EDD_BYTES_PER_SECTOR_OFFSET, 1 << layout.sectorShift());
    memory.putU32(e + Mdi.EDD_DPTE_OFFSET, 0xFFFFFFFFL);
    memory.putU16(e + Mdi.EDD_KEY_OFFSET, Mdi.EDD_KEY);
    memory.putU8(e + 32, 0x2C);
    ascii(memory, e + 36, "MEM ");
    ascii(memory, e + 40, "MEMORY  ");
    memory.putU64(e + 56, layout.diskAddress());
    int sum = 0;
    for (int i = 30; i < 73; i++) {
      sum += memory.u8(e + i);
    }
    memory.putU8(e + 73, -sum & 0xFF);
  }

  private static void checkDiskPlace(GuestMemory memory, MemdiskLayout layout) {
    long size = layout.sizeBytes();
    if (!Bounds.covered(memory, layout.diskAddress(), size)) {
      throw new IllegalArgumentException(
          String.format(
              "disk [0x%x, 0x%x) is not wholly in guest memory (mapped: %s)",
              layout.diskAddress(), layout.diskAddress() + size, memory.describeRanges()));
    }
  }

  private static void farJump(GuestMemory memory, long at, int pointerOffset) {
    memory.putU8(at, 0x2E); // CS:
    memory.putU8(at + 1, 0xFF);
    memory.putU8(at + 2, 0x2E); // jmp far [disp16]
    memory.putU16(at + 3, pointerOffset);
  }

  private static void ascii(GuestMemory memory, long at, String text) {
    byte[] b = text.getBytes(StandardCharsets.US_ASCII);
    memory.write(at, b, 0, b.length);
  }
}
