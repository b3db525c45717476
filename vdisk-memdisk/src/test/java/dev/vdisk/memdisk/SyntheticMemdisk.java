package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemory;
import java.nio.charset.StandardCharsets;

/**
 * Writes a MEMDISK 6.04 resident block into guest memory the way the spec (§5) describes it, with
 * literal offsets taken from the spec tables (deliberately not the parser's constants, so a wrong
 * constant fails a test). Defaults are the values of a real floppy dump (MEMDISK 6.04 under QEMU,
 * 637 KiB, segment 0x9F40), with the disk moved to 2 MiB so small test images hold it.
 */
final class SyntheticMemdisk {
  int segment = 0x9F40;
  int mbftOffset = 0x4C0; // CHS build
  int int15Offset = 0x2D1;
  int e820Offset = 0x544;
  int iretOffset = 0xB4;
  int cmdlineOffset = 0x5C8;
  String cmdline = "";
  long prev = vector(0xF000, 0xE3FE);
  long flags = 0;
  int mdiBytes = 30;
  int versionMajor = 6;
  int versionMinor = 4;
  long diskbuf = 0x200000;
  long disksize = 2880;
  long oldInt15 = vector(0xF000, 0xF859);
  int oldDosMem = 639;
  int bootLoaderId = 0xB0;
  int sectorShift = 9;
  int dptPtr = 0;
  int driveShiftLimit = 2;
  int memInt1588 = 30176;
  int cylinders = 80;
  int heads = 2;
  long sectors = 18;
  long mem1mb = 15360;
  long mem16mb = 231;
  int driveno = 0;
  int drivetype = 0x10;
  int drivecnt = 2;
  int configflags = 0x04;
  int stack = 0x800;
  int statusptr = 0x441;
  long oldInt1e = vector(0xF000, 0x601C);
  boolean edd = false;
  long eddTotalSectors = -1; // -1: disksize
  int eddBytesPerSector = 0; // 0: 1 << shift
  boolean cdPacket = false;
  int cdMedia = 0;
  long cdRba = 34;
  boolean hookVector = true; // point 0x4C at this MEMDISK
  boolean fixChecksum = true;
  long mbftPointerOverride = -1;
  long safeHookOverride = -1;
  long lengthOverride = -1;

  static long vector(int seg, int off) {
    return ((long) seg << 16) | off;
  }

  long block() {
    return (long) segment << 4;
  }

  long hook() {
    return block() + 10;
  }

  long mbft() {
    return block() + mbftOffset;
  }

  long mdi() {
    return mbft() + 40;
  }

  /** Writes the block (and optionally the vector and 0x413) into {@code m}. */
  SyntheticMemdisk writeTo(GuestMemory m) {
    long s = block();
    m.putU16(s, 0x000A);
    m.putU16(s + 2, int15Offset);
    m.putU16(s + 4, mbftOffset + 40);
    m.putU16(s + 6, e820Offset);
    m.putU16(s + 8, iretOffset);
    long h = hook();
    m.putU8(h, 0xE9);
    m.putU16(h + 1, 0x001C);
    put(m, h + 3, "$INT13SF");
    put(m, h + 11, "MEMDISK ");
    m.putU32(h + 19, prev);
    m.putU32(h + 23, flags);
    m.putU32(h + 27, mbftPointerOverride >= 0 ? mbftPointerOverride : mbft());
    m.putU8(s + iretOffset, 0xCF);
    long t = mbft();
    put(m, t, "mBFT");
    m.putU32(t + 4, lengthOverride >= 0 ? lengthOverride : 40 + mdiBytes);
    m.putU8(t + 8, 1);
    m.putU8(t + 9, 0);
    put(m, t + 10, "MEMDSK");
    put(m, t + 16, "Syslinux");
    m.putU32(t + 24, 0);
    m.putU32(t + 28, 0);
    m.putU32(t + 32, 0);
    m.putU32(t + 36, safeHookOverride >= 0 ? safeHookOverride : h);
    long d = mdi();
    m.putU16(d, mdiBytes);
    m.putU8(d + 2, versionMinor);
    m.putU8(d + 3, versionMajor);
    m.putU32(d + 4, diskbuf);
    m.putU32(d + 8, disksize);
    m.putU16(d + 12, cmdlineOffset);
    m.putU16(d + 14, segment);
    m.putU32(d + 16, prev);
    m.putU32(d + 20, oldInt15);
    m.putU16(d + 24, oldDosMem);
    if (mdiBytes >= 27) {
      m.putU8(d + 26, bootLoaderId);
    }
    if (mdiBytes >= 28) {
      m.putU8(d + 27, sectorShift);
    }
    if (mdiBytes >= 30) {
      m.putU16(d + 28, dptPtr);
      m.putU8(d + 30, driveShiftLimit);
      m.putU16(d + 34, memInt1588);
      m.putU16(d + 36, cylinders);
      m.putU16(d + 38, heads);
      m.putU32(d + 40, sectors);
      m.putU32(d + 44, mem1mb);
      m.putU32(d + 48, mem16mb);
      m.putU8(d + 52, driveno);
      m.putU8(d + 53, drivetype);
      m.putU8(d + 54, drivecnt);
      m.putU8(d + 55, configflags);
      m.putU16(d + 56, stack);
      m.putU16(d + 58, statusptr);
      m.putU32(d + 76, oldInt1e);
    }
    if (edd) {
      long e = d + 80;
      m.putU16(e, 30);
      m.putU16(e + 2, driveno == 0xE0 ? 0 : 0x02);
      m.putU32(e + 4, driveno == 0xE0 ? 0 : cylinders);
      m.putU32(e + 8, driveno == 0xE0 ? 0 : heads);
      m.putU32(e + 12, driveno == 0xE0 ? 0 : sectors);
      m.putU64(e + 16, eddTotalSectors >= 0 ? eddTotalSectors : disksize);
      m.putU16(e + 24, eddBytesPerSector != 0 ? eddBytesPerSector : 1 << effectiveShift());
      m.putU32(e + 26, 0xFFFFFFFFL);
      m.putU16(e + 30, 0xBEDD);
      m.putU8(e + 32, 0x2C);
      put(m, e + 36, "MEM ");
      put(m, e + 40, "MEMORY  ");
      m.putU64(e + 56, diskbuf);
    }
    if (cdPacket) {
      long c = d + 154;
      m.putU8(c, 0x13);
      m.putU8(c + 1, cdMedia);
      m.putU8(c + 2, driveno);
      m.putU32(c + 4, cdRba);
      m.putU16(c + 12, 0);
      m.putU16(c + 14, 4);
    }
    byte[] text = cmdline.getBytes(StandardCharsets.ISO_8859_1);
    m.write(s + cmdlineOffset, text, 0, text.length);
    m.putU8(s + cmdlineOffset + text.length, 0);
    if (fixChecksum) {
      fixChecksum(m);
    }
    if (hookVector) {
      m.putU32(0x4C, vector(segment, 0x000A));
      m.putU16(0x413, (int) (s >>> 10));
    }
    return this;
  }

  int effectiveShift() {
    return sectorShift == 0 ? 9 : sectorShift;
  }

  void fixChecksum(GuestMemory m) {
    long t = mbft();
    long len = m.u32(t + 4);
    m.putU8(t + 9, 0);
    int sum = 0;
    for (long i = 0; i < len; i++) {
      sum += m.u8(t + i);
    }
    m.putU8(t + 9, -sum & 0xFF);
  }

  /** Fills the disk with a recognisable pattern (byte i = low byte of i*31 + sector). */
  void fillDisk(GuestMemory m) {
    long size = disksize << effectiveShift();
    byte[] chunk = new byte[4096];
    for (long off = 0; off < size; off += chunk.length) {
      int n = (int) Math.min(chunk.length, size - off);
      for (int i = 0; i < n; i++) {
        chunk[i] = pattern(off + i);
      }
      m.write(diskbuf + off, chunk, 0, n);
    }
  }

  static byte pattern(long offset) {
    return (byte) (offset * 31 + (offset >>> 9));
  }

  static void put(GuestMemory m, long address, String ascii) {
    byte[] b = ascii.getBytes(StandardCharsets.US_ASCII);
    m.write(address, b, 0, b.length);
  }
}
