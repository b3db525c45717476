package dev.vdisk.memdisk;

import static dev.vdisk.memdisk.ProbeContext.hex;

import dev.vdisk.api.GuestMemoryException;
import dev.vdisk.api.ReadableGuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * Validates a MEMDISK's mBFT and reads its MDI and patch area (spec §5), producing a {@link
 * MemdiskInfo} and a disk candidate. Unlike WinVBlock it re-validates the mBFT a hook points to
 * (signature, length, checksum, back-pointer), honours {@code sector_shift} and the read-only flag,
 * and never writes.
 */
final class MemdiskParser {
  /** MEMDISK's header before the safe hook: int13/int15/patch/total/iret offsets. */
  static final int HOOK_OFFSET_IN_BLOCK = 10;

  static final int HEADER_PATCH_OFFS = 4;

  /** Longest command line read (MEMDISK's own buffer is far smaller). */
  static final int MAX_COMMAND_LINE = 4096;

  private static final long FOUR_GIB = 1L << 32;
  private static final int MIN_SECTOR_SHIFT = 9;
  private static final int MAX_SECTOR_SHIFT = 12;

  private final SafeHook hook = new SafeHook();
  private final Mbft mbft = new Mbft();
  private final Mdi mdi = new Mdi();

  /** A MEMDISK reached through the hook chain (or a scan find whose hook checked out). */
  void parseHook(
      ProbeContext ctx, long hookAddress, long prevVector, boolean inChain, String origin) {
    String subject = "MEMDISK hook at " + hex(hookAddress);
    hook.wrap(ctx.memory, hookAddress);
    if (!hook.fits(SafeHook.MEMDISK_SIZE)) {
      ctx.reject(
          subject,
          hookAddress,
          "safe hook truncated: its 31 bytes are not all in the image (mapped: "
              + ctx.ranges()
              + ")");
      return;
    }
    long mbftAddress = hook.mbft();
    ctx.examinedMbfts.add(mbftAddress);
    List<String> warnings = new ArrayList<>();
    if ((hook.flags() & SafeHook.FLAG_CLAIMED) != 0) {
      warnings.add(
          "safe hook flags "
              + hex(hook.flags())
              + ": bit 0 set, an OS driver or an earlier probe claimed this MEMDISK");
    }
    if (!checkMbft(ctx, mbftAddress, hookAddress, subject)) {
      return;
    }
    readTable(ctx, hookAddress, mbftAddress, prevVector, inChain, origin, warnings);
  }

  /** An mBFT the scan found at {@code mbftAddress} that no chain hook pointed to. */
  void parseScanned(ProbeContext ctx, long mbftAddress) {
    String subject = "MEMDISK mBFT at " + hex(mbftAddress) + " (scan)";
    ctx.examinedMbfts.add(mbftAddress);
    try {
      mbft.wrap(ctx.memory, mbftAddress);
      if (!Bounds.mapped(ctx.memory, mbftAddress, Mbft.HEADER_SIZE)) {
        ctx.reject(subject, mbftAddress, "mBFT header truncated by the end of the image");
        return;
      }
      long hookAddress = mbft.safeHook();
      if (!checkMbft(ctx, mbftAddress, hookAddress, subject)) {
        return;
      }
      if (ctx.chainHooks.contains(hookAddress)) {
        ctx.reject(
            subject,
            mbftAddress,
            "names safe hook "
                + hex(hookAddress)
                + " in the chain, but that hook points at another mBFT");
        return;
      }
      if (hookAddress < LowMemory.IVT_BDA_END
          || !Bounds.mapped(ctx.memory, hookAddress, SafeHook.MEMDISK_SIZE)) {
        ctx.reject(
            subject, mbftAddress, "its safe_hook " + hex(hookAddress) + " is not in the image");
        return;
      }
      hook.wrap(ctx.memory, hookAddress);
      List<String> warnings = new ArrayList<>();
      if (hook.vendor() != SafeHook.VENDOR_MEMDISK) {
        ctx.reject(
            subject,
            mbftAddress,
            "its safe hook at "
                + hex(hookAddress)
                + " has vendor '"
                + Ascii.printable(hook.vendor(), 8)
                + "' (expected MEMDISK_)");
        return;
      }
      if (hook.mbft() != mbftAddress) {
        ctx.reject(
            subject,
            mbftAddress,
            "its safe hook at "
                + hex(hookAddress)
                + " points at mBFT "
                + hex(hook.mbft())
                + ", not here");
        return;
      }
      if (!hook.hasSignature()) {
        warnings.add(
            "safe hook signature is '"
                + Ascii.printable(hook.signature(), 8)
                + "', not $INT13SF (WinVBlock overwrites byte 0 with '!' when it claims a hook)");
      }
      ctx.hooks.add(
          new HookInfo(
              -1,
              RealMode.format(RealMode.vector((int) (hookAddress >>> 4), (int) (hookAddress & 15))),
              hookAddress,
              DiskKind.MEMDISK.name(),
              Ascii.printable(hook.vendor(), 8),
              Ascii.hex(hook.vendor(), 8),
              RealMode.format(hook.prev()),
              RealMode.linear(hook.prev()),
              hook.flags(),
              mbftAddress,
              false));
      warnings.add(
          "not in the INT 13h hook chain (unhooked, or a later program rewrote the vector)");
      readTable(ctx, hookAddress, mbftAddress, hook.prev(), false, "mBFT scan", warnings);
    } catch (GuestMemoryException e) {
      ctx.reject(subject, mbftAddress, "read outside the image: " + e.getMessage());
    }
  }

  /** The §5.7 checks that make an mBFT trustworthy; records a rejection and returns false. */
  private boolean checkMbft(ProbeContext ctx, long m, long hookAddress, String subject) {
    ReadableGuestMemory memory = ctx.memory;
    if (m < LowMemory.IVT_BDA_END || m + Mbft.MIN_LENGTH > LowMemory.FIRST_MIB) {
      ctx.reject(
          subject, m, "mBFT pointer " + hex(m) + " outside 0x500-0xFFFFF (MEMDISK keeps it there)");
      return false;
    }
    if (!Bounds.mapped(memory, m, Mbft.HEADER_SIZE + 2)) {
      ctx.reject(
          subject, m, "mBFT at " + hex(m) + " not in the image (mapped: " + ctx.ranges() + ")");
      return false;
    }
    mbft.wrap(memory, m);
    long signature = mbft.signature();
    if (signature != Mbft.SIGNATURE) {
      ctx.reject(
          subject,
          m,
          "mBFT signature '"
              + Ascii.printable(signature, 4)
              + "' at "
              + hex(m)
              + " (expected mBFT)");
      return false;
    }
    long length = mbft.length();
    int mdiBytes = memory.u16(m + Mbft.MDI_OFFSET);
    if (length < Mbft.MIN_LENGTH) {
      ctx.reject(subject, m, "mBFT length " + length + " (expected >= " + Mbft.MIN_LENGTH + ")");
      return false;
    }
    if (length != Mbft.HEADER_SIZE + mdiBytes) {
      ctx.reject(
          subject,
          m,
          "mBFT length " + length + " != 40 + MDI bytes " + mdiBytes + " (utils/memdiskfind rule)");
      return false;
    }
    if (m + length > LowMemory.FIRST_MIB || !Bounds.mapped(memory, m, length)) {
      ctx.reject(
          subject,
          m,
          "mBFT at " + hex(m) + " with length " + length + " runs past the image or past 1 MiB");
      return false;
    }
    int sum = mbft.sum((int) length);
    if (sum != 0) {
      ctx.reject(
          subject,
          m,
          "mBFT checksum: its "
              + length
              + " bytes sum to 0x"
              + Hex.padded(sum, 2)
              + " (expected 0; checksum byte 0x"
              + Hex.padded(mbft.checksumByte(), 2)
              + ")");
      return false;
    }
    long back = mbft.safeHook();
    if (back != hookAddress) {
      ctx.reject(
          subject,
          m,
          "mBFT safe_hook back-pointer " + hex(back) + " != hook address " + hex(hookAddress));
      return false;
    }
    return true;
  }

  private void readTable(
      ProbeContext ctx,
      long hookAddress,
      long m,
      long prevVector,
      boolean inChain,
      String origin,
      List<String> warnings) {
    ReadableGuestMemory memory = ctx.memory;
    String subject = "MEMDISK mBFT at " + hex(m);
    mbft.wrap(memory, m);
    long mdiAddress = mbft.mdiAddress();
    mdi.wrap(memory, mdiAddress);
    int bytes = mdi.bytes();
    long blockStart = hookAddress - HOOK_OFFSET_IN_BLOCK;
    int oldDosMem = mdi.oldDosMemKib();
    long blockEnd = (long) oldDosMem * 1024;
    boolean blockEndSane = blockEnd > m && blockEnd <= LowMemory.LEGACY_HOLE_START;
    if (!blockEndSane) {
      warnings.add(
          "olddosmem "
              + oldDosMem
              + " KiB does not end MEMDISK's block above its mBFT at "
              + hex(m)
              + " (expected <= 640 KiB)");
    }
    checkBlockHeader(
        memory, blockStart, mdiAddress, hookAddress, m, blockEnd, blockEndSane, warnings);

    int rawShift = bytes > Mdi.SECTOR_SHIFT_OFFSET ? mdi.sectorShift() : 0;
    int shift = rawShift == 0 ? MIN_SECTOR_SHIFT : rawShift;
    if (rawShift == 0 && bytes > Mdi.SECTOR_SHIFT_OFFSET) {
      warnings.add("sector_shift 0 (MEMDISK before 2010), taken as 9");
    } else if (rawShift == 0) {
      warnings.add(
          "MDI of " + bytes + " bytes has no sector_shift (MEMDISK < 3.71): 512-byte sectors");
    }
    if (rawShift > MAX_SECTOR_SHIFT) {
      ctx.reject(
          subject, m, "sector_shift " + rawShift + " (expected 9 or 11; above 12 is invalid)");
      return;
    }
    if (shift < MIN_SECTOR_SHIFT) {
      ctx.reject(
          subject,
          m,
          "sector_shift " + shift + " gives " + (1 << shift) + "-byte sectors (expected 9 or 11)");
      return;
    }
    if (shift != 9 && shift != 11) {
      warnings.add("sector_shift " + shift + " (MEMDISK only writes 9 or 11)");
    }
    long diskbuf = mdi.diskbuf();
    long disksize = mdi.disksize();
    long cmdline = mdi.cmdline();
    long cmdlineAddress = RealMode.linear(cmdline);
    String commandLine = readCommandLine(memory, cmdlineAddress, warnings);
    MemdiskInfo.MemdiskPatchArea patch =
        readPatchArea(memory, mdiAddress, bytes, blockEnd, blockEndSane, warnings);
    MemdiskInfo.EddInfo edd =
        patch == null ? null : readEdd(memory, mdiAddress, blockEnd, blockEndSane);
    MemdiskInfo.CdPacketInfo cd =
        edd == null ? null : readCdPacket(memory, mdiAddress, blockEnd, blockEndSane, patch);
    if (prevVector >= 0 && mdi.oldInt13() != prevVector) {
      long iret = Bounds.mapped(memory, blockStart + 8, 2) ? memory.u16(blockStart + 8) : -1;
      if (RealMode.linear(prevVector) == blockStart + iret) {
        warnings.add("safe hook prev points at MEMDISK's own IRET (option nopassany)");
      } else {
        warnings.add(
            "MDI oldint13 "
                + RealMode.format(mdi.oldInt13())
                + " != safe hook prev "
                + RealMode.format(prevVector));
      }
    }
    MemdiskInfo info =
        new MemdiskInfo(
            hookAddress,
            inChain,
            m,
            mbft.length(),
            mbft.revision(),
            mbft.oemId(),
            mbft.oemTableId(),
            bytes,
            version(mdi.versionMajor(), mdi.versionMinor()),
            diskbuf,
            disksize,
            shift,
            commandLine,
            cmdlineAddress,
            RealMode.format(mdi.oldInt13()),
            RealMode.format(mdi.oldInt15()),
            oldDosMem,
            bytes > Mdi.BOOTLOADERID_OFFSET ? mdi.bootLoaderId() : null,
            bytes >= Mdi.BYTES_3_71 ? mdi.dptPointer() : null,
            patch,
            edd,
            cd,
            List.copyOf(warnings));
    ctx.memdisks.add(info);
    ctx.reserved.add(
        new ProbeContext.Reserved(
            "MEMDISK resident block at " + hex(blockStart),
            blockStart,
            (blockEndSane ? blockEnd : mdiAddress + Mdi.CHS_BUILD_SIZE) - blockStart));
    addDisk(ctx, info, subject, origin, inChain);
  }

  /** "6.04": MEMDISK prints its minor version with two digits. */
  static String version(int major, int minor) {
    return major + (minor < 10 ? ".0" : ".") + minor;
  }

  private static void checkBlockHeader(
      ReadableGuestMemory memory,
      long blockStart,
      long mdiAddress,
      long hookAddress,
      long m,
      long blockEnd,
      boolean blockEndSane,
      List<String> warnings) {
    if (!Bounds.mapped(memory, blockStart, HOOK_OFFSET_IN_BLOCK)) {
      warnings.add("MEMDISK block header at " + hex(blockStart) + " not in the image");
      return;
    }
    int int13Offs = memory.u16(blockStart);
    if (int13Offs != HOOK_OFFSET_IN_BLOCK) {
      warnings.add(
          "block header's INT 13h entry offset "
              + hex(int13Offs)
              + " (expected 0xA: the safe hook is 10 bytes into the block)");
    }
    int patchOffs = memory.u16(blockStart + HEADER_PATCH_OFFS);
    if (blockStart + patchOffs != mdiAddress) {
      warnings.add(
          "block header's patch offset "
              + hex(patchOffs)
              + " does not point at the MDI (expected "
              + hex(mdiAddress - blockStart)
              + ")");
    }
    if (blockEndSane && (m < hookAddress || m >= blockEnd)) {
      warnings.add("mBFT at " + hex(m) + " lies outside MEMDISK's block");
    }
  }

  private static String readCommandLine(
      ReadableGuestMemory memory, long address, List<String> warnings) {
    if (address < LowMemory.IVT_BDA_END || !Bounds.mapped(memory, address, 1)) {
      warnings.add("command line pointer " + hex(address) + " outside the image");
      return null;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < MAX_COMMAND_LINE; i++) {
      if (!Bounds.mapped(memory, address + i, 1)) {
        warnings.add("command line runs off the image after " + i + " bytes");
        return sb.toString();
      }
      int b = memory.u8(address + i);
      if (b == 0) {
        return sb.toString();
      }
      sb.append((char) b);
    }
    warnings.add("command line longer than " + MAX_COMMAND_LINE + " bytes; truncated");
    return sb.toString();
  }

  private MemdiskInfo.MemdiskPatchArea readPatchArea(
      ReadableGuestMemory memory,
      long mdiAddress,
      int bytes,
      long blockEnd,
      boolean blockEndSane,
      List<String> warnings) {
    if (bytes != Mdi.BYTES_3_71) {
      warnings.add(
          "MDI of "
              + bytes
              + " bytes (MEMDISK < 3.71): patch area layout unknown, geometry derived");
      return null;
    }
    long end = mdiAddress + Mdi.CHS_BUILD_SIZE;
    if (!Bounds.mapped(memory, mdiAddress, Mdi.CHS_BUILD_SIZE)
        || (blockEndSane && end > blockEnd)) {
      warnings.add("patch area after the MDI runs past MEMDISK's block or the image; not read");
      return null;
    }
    int flags = mdi.u8(Mdi.CONFIGFLAGS_OFFSET);
    return new MemdiskInfo.MemdiskPatchArea(
        mdi.u8(Mdi.DRIVESHIFTLIMIT_OFFSET),
        mdi.u16(Mdi.MEMINT1588_OFFSET),
        mdi.u16(Mdi.CYLINDERS_OFFSET),
        mdi.u16(Mdi.HEADS_OFFSET),
        mdi.u32(Mdi.SECTORS_OFFSET),
        mdi.u32(Mdi.MEM1MB_OFFSET),
        mdi.u32(Mdi.MEM16MB_OFFSET),
        mdi.u8(Mdi.DRIVENO_OFFSET),
        mdi.u8(Mdi.DRIVETYPE_OFFSET),
        mdi.u8(Mdi.DRIVECNT_OFFSET),
        flags,
        (flags & Mdi.CONFIG_READONLY) != 0,
        (flags & Mdi.CONFIG_RAW) != 0,
        (flags & Mdi.CONFIG_SAFEINT) != 0,
        (flags & Mdi.CONFIG_BIGRAW) != 0,
        mdi.u16(Mdi.MYSTACK_OFFSET),
        mdi.u16(Mdi.STATUSPTR_OFFSET),
        RealMode.format(mdi.u32(Mdi.OLD_INT1E_OFFSET)));
  }

  /** The EDD table exists only in EDD/ISO builds: trust it only with its length word and key. */
  private MemdiskInfo.EddInfo readEdd(
      ReadableGuestMemory memory, long mdiAddress, long blockEnd, boolean blockEndSane) {
    long edd = mdiAddress + Mdi.EDD_OFFSET;
    if (!Bounds.mapped(memory, edd, Mdi.EDD_SIZE)
        || (blockEndSane && edd + Mdi.EDD_SIZE > blockEnd)
        || mdi.u16(Mdi.EDD_OFFSET + Mdi.EDD_LENGTH_OFFSET) != Mdi.EDD_LENGTH
        || mdi.u16(Mdi.EDD_OFFSET + Mdi.EDD_KEY_OFFSET) != Mdi.EDD_KEY) {
      return null;
    }
    int flags = mdi.u16(Mdi.EDD_OFFSET + Mdi.EDD_FLAGS_OFFSET);
    return new MemdiskInfo.EddInfo(
        flags,
        (flags & Mdi.EDD_FLAG_CHS_VALID) != 0,
        mdi.u32(Mdi.EDD_OFFSET + Mdi.EDD_CYLINDERS_OFFSET),
        mdi.u32(Mdi.EDD_OFFSET + Mdi.EDD_HEADS_OFFSET),
        mdi.u32(Mdi.EDD_OFFSET + Mdi.EDD_SECTORS_OFFSET),
        mdi.u64(Mdi.EDD_OFFSET + Mdi.EDD_TOTAL_SECTORS_OFFSET),
        mdi.u16(Mdi.EDD_OFFSET + Mdi.EDD_BYTES_PER_SECTOR_OFFSET));
  }

  /**
   * The El Torito packet exists only in ISO builds; an EDD build has other data there, so accept it
   * only when its size byte, media type and drive agree with the patch area.
   */
  private MemdiskInfo.CdPacketInfo readCdPacket(
      ReadableGuestMemory memory,
      long mdiAddress,
      long blockEnd,
      boolean blockEndSane,
      MemdiskInfo.MemdiskPatchArea patch) {
    long cd = mdiAddress + Mdi.CD_PACKET_OFFSET;
    if (!Bounds.mapped(memory, cd, Mdi.CD_PACKET_SIZE)
        || (blockEndSane && cd + Mdi.CD_PACKET_SIZE > blockEnd)
        || mdi.u8(Mdi.CD_PACKET_OFFSET + Mdi.CD_SIZE_OFFSET) != Mdi.CD_PACKET_MARK
        || mdi.u8(Mdi.CD_PACKET_OFFSET + Mdi.CD_MEDIA_OFFSET) > 4
        || mdi.u8(Mdi.CD_PACKET_OFFSET + Mdi.CD_DRIVE_OFFSET) != patch.driveNumber()) {
      return null;
    }
    return new MemdiskInfo.CdPacketInfo(
        mdi.u8(Mdi.CD_PACKET_OFFSET + Mdi.CD_MEDIA_OFFSET),
        mdi.u8(Mdi.CD_PACKET_OFFSET + Mdi.CD_DRIVE_OFFSET),
        mdi.u32(Mdi.CD_PACKET_OFFSET + Mdi.CD_START_OFFSET),
        mdi.u16(Mdi.CD_PACKET_OFFSET + Mdi.CD_LOAD_SEGMENT_OFFSET),
        mdi.u16(Mdi.CD_PACKET_OFFSET + Mdi.CD_SECTOR_COUNT_OFFSET));
  }

  /** Turns a validated MDI into a disk candidate (spec §5.6), or a rejection. */
  private static void addDisk(
      ProbeContext ctx, MemdiskInfo info, String subject, String origin, boolean inChain) {
    long diskbuf = info.diskBuffer();
    long sectors = info.diskSectors();
    int shift = info.sectorShift();
    if (sectors == 0) {
      ctx.reject(subject, info.mbftAddress(), "disksize 0: no disk");
      return;
    }
    if (diskbuf == 0) {
      ctx.reject(subject, info.mbftAddress(), "diskbuf 0: no disk");
      return;
    }
    if (diskbuf < LowMemory.FIRST_MIB) {
      ctx.reject(
          subject,
          info.mbftAddress(),
          "diskbuf " + hex(diskbuf) + " inside the first MiB (MEMDISK loads above 1 MiB)");
      return;
    }
    long size = sectors << shift;
    if (diskbuf + size > FOUR_GIB) {
      ctx.reject(
          subject,
          info.mbftAddress(),
          "disk "
              + hex(diskbuf)
              + " + "
              + size
              + " bytes ends at "
              + hex(diskbuf + size)
              + ", past 4 GiB (MEMDISK's 32-bit fields cannot produce it)");
      return;
    }
    List<String> warnings = new ArrayList<>();
    MemdiskInfo.MemdiskPatchArea patch = info.patch();
    Media media;
    int drive;
    long cylinders = 0;
    int heads = 0;
    long spt = 0;
    boolean readOnly = false;
    if (patch != null) {
      drive = patch.driveNumber();
      media =
          drive == Mdi.DRIVENO_CDROM
              ? Media.CDROM
              : (drive & 0x80) != 0 ? Media.HARD_DISK : Media.FLOPPY;
      cylinders = patch.cylinders();
      heads = patch.heads();
      spt = patch.sectors();
      readOnly = patch.readOnly();
      if (media == Media.CDROM && shift != 11) {
        warnings.add("driveno 0xE0 (CD-ROM) with sector_shift " + shift + " (expected 11)");
      }
      if (media != Media.CDROM && shift == 11) {
        warnings.add("sector_shift 11 with driveno " + hex(drive) + " (MEMDISK uses 0xE0 for CDs)");
      }
    } else {
      media = shift == 11 ? Media.CDROM : size >= 4L << 20 ? Media.HARD_DISK : Media.FLOPPY;
      drive = media == Media.CDROM ? Mdi.DRIVENO_CDROM : media == Media.HARD_DISK ? 0x80 : 0;
      warnings.add("no patch area: media guessed from size and sector size, geometry derived");
    }
    if (media != Media.CDROM && patch != null) {
      long chs = cylinders * heads * spt;
      if (chs == 0) {
        warnings.add("geometry " + cylinders + "/" + heads + "/" + spt + " has a zero");
      } else if (chs != sectors) {
        warnings.add(
            "geometry C/H/S "
                + cylinders
                + "/"
                + heads
                + "/"
                + spt
                + " covers "
                + chs
                + " sectors, the disk has "
                + sectors
                + " (guessed geometry, fractional cylinder or El Torito floppy emulation)");
      }
    }
    int sectorSize = 1 << shift;
    MemoryDisk disk =
        new MemoryDisk(
            -1,
            DiskKind.MEMDISK,
            origin,
            diskbuf,
            size,
            sectorSize,
            sectors,
            cylinders,
            heads,
            spt,
            media,
            drive,
            readOnly,
            media == Media.CDROM,
            false,
            info.mbftAddress(),
            List.copyOf(warnings));
    ctx.candidates.add(
        new ProbeContext.Candidate(
            disk, size, !inChain, "MEMDISK disk at " + hex(diskbuf) + " (" + origin + ")"));
  }
}
