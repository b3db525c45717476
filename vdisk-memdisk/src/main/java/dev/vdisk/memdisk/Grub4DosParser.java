package dev.vdisk.memdisk;

import static dev.vdisk.memdisk.ProbeContext.hex;

import dev.vdisk.api.ReadableGuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a GRUB4DOS resident block and its drive map (spec §6). Memdrives (to_drive 0xFF, TO not a
 * CD) become disk candidates; maps of real drives are reported only. Unlike WinVBlock it uses the
 * 512-byte unit for a CD's count, the FROM drive's geometry, respects the "TO is a CD" bit and the
 * restriction bits, and never writes.
 */
final class Grub4DosParser {
  private static final long MAX_UNITS = -1L >>> 9; // largest count of 512-byte units below 2^64

  private final Grub4DosBlock block = new Grub4DosBlock();
  private final DriveMapSlot slot = new DriveMapSlot();

  void parse(ProbeContext ctx, long vector, long hookAddress, long prevVector) {
    ReadableGuestMemory memory = ctx.memory;
    String subject = "GRUB4DOS hook " + RealMode.format(vector);
    if (RealMode.offset(vector) != Grub4DosBlock.HOOK_OFFSET) {
      ctx.reject(
          subject,
          hookAddress,
          "vector offset "
              + hex(RealMode.offset(vector))
              + " (GRUB4DOS always hooks at G:0100; the drive map's place is ambiguous)");
      return;
    }
    long base = hookAddress - Grub4DosBlock.HOOK_OFFSET;
    if (base < LowMemory.IVT_BDA_END || !Bounds.mapped(memory, base, Grub4DosBlock.PARSED_SIZE)) {
      ctx.reject(
          subject,
          base,
          "resident block at "
              + hex(base)
              + " (header, drive map and hook: "
              + Grub4DosBlock.PARSED_SIZE
              + " bytes) not in the image");
      return;
    }
    block.wrap(memory, base);
    List<String> warnings = new ArrayList<>();
    boolean g4ds = block.signature() == Grub4DosBlock.SIGNATURE;
    if (!g4ds) {
      warnings.add("legacy 'G4DS' tag missing at block + 4 (GRUB4DOS asks not to rely on it)");
    }
    if (block.version() != 1) {
      warnings.add("header version " + block.version() + " (expected 1)");
    }
    if (block.oldInt13() != prevVector) {
      warnings.add(
          "saved INT 13h "
              + RealMode.format(block.oldInt13())
              + " at block + 0x1C != safe hook prev "
              + RealMode.format(prevVector));
    }
    int kib = block.sizeKib();
    long reservedLength = Math.max(Grub4DosBlock.PARSED_SIZE, (long) kib * 1024);
    ctx.reserved.add(
        new ProbeContext.Reserved("GRUB4DOS resident block at " + hex(base), base, reservedLength));

    List<Grub4DosInfo.DriveMapEntry> entries = new ArrayList<>();
    List<Memdrive> memdrives = new ArrayList<>();
    for (int i = 0; i < Grub4DosBlock.SLOT_COUNT; i++) {
      slot.wrap(memory, block.slotAddress(i));
      if (slot.isEmpty()) {
        continue;
      }
      Grub4DosInfo.DriveMapEntry entry = decode(i);
      entries.add(entry);
      if (entry.memory()) {
        ProbeContext.Candidate c = memdrive(ctx, entry, vector, subject);
        if (c != null) {
          memdrives.add(new Memdrive(i, c));
        }
      }
    }
    if (Bounds.mapped(memory, block.slotAddress(Grub4DosBlock.SLOT_COUNT), DriveMapSlot.SIZE)
        && !slot.wrap(memory, block.slotAddress(Grub4DosBlock.SLOT_COUNT)).isEmpty()) {
      warnings.add("9th drive-map slot is not zero (GRUB4DOS keeps it as a terminator); ignored");
    }
    rejectDuplicateDrives(ctx, entries, memdrives, base, warnings);
    for (Memdrive m : memdrives) {
      ctx.candidates.add(m.candidate());
    }
    ctx.grub4dos.add(
        new Grub4DosInfo(
            hookAddress,
            base,
            base + Grub4DosBlock.DRIVE_MAP_OFFSET,
            kib,
            block.cdromCount(),
            block.cdromBaseDrive(),
            g4ds,
            block.version(),
            block.equipment(),
            block.hardDiskCount(),
            RealMode.format(block.oldInt15()),
            RealMode.format(block.oldInt13()),
            List.copyOf(entries),
            List.copyOf(warnings)));
  }

  private Grub4DosInfo.DriveMapEntry decode(int index) {
    int maxSector = slot.maxSector();
    int toCylinder = slot.toCylinder();
    int toSector = slot.toSector();
    boolean toCd = (toCylinder & DriveMapSlot.TO_CYLINDER_TO_CDROM) != 0;
    boolean x = (maxSector & DriveMapSlot.MAX_SECTOR_RESTRICTION_X) != 0;
    boolean y = (toSector & DriveMapSlot.TO_SECTOR_RESTRICTION_Y) != 0;
    String restriction = x ? (y ? "fake-write" : "read-only") : (y ? "safe-boot" : "none");
    return new Grub4DosInfo.DriveMapEntry(
        index,
        slot.fromDrive(),
        slot.toDrive(),
        slot.maxHead(),
        maxSector,
        toCylinder,
        slot.toHead(),
        toSector,
        slot.startSector(),
        slot.sectorCount(),
        slot.toDrive() == DriveMapSlot.TO_MEMORY && !toCd,
        (toCylinder & DriveMapSlot.TO_CYLINDER_FROM_CDROM) != 0,
        toCd,
        (maxSector & DriveMapSlot.MAX_SECTOR_NO_LBA) != 0,
        (toSector & DriveMapSlot.TO_SECTOR_IN_SITU) != 0,
        restriction);
  }

  /** A memdrive slot as a disk candidate (spec §6.3), or null after recording a rejection. */
  private static ProbeContext.Candidate memdrive(
      ProbeContext ctx, Grub4DosInfo.DriveMapEntry e, long vector, String hookSubject) {
    String subject = "GRUB4DOS slot " + e.slot() + " (drive " + hex(e.fromDrive()) + ")";
    long slotAddress =
        RealMode.linear(vector)
            - Grub4DosBlock.HOOK_OFFSET
            + Grub4DosBlock.DRIVE_MAP_OFFSET
            + (long) e.slot() * DriveMapSlot.SIZE;
    long start = e.startSector();
    long count = e.sectorCount();
    if (count == 0) {
      ctx.reject(subject, slotAddress, "memdrive with sector count 0 (no extent)");
      return null;
    }
    if (Long.compareUnsigned(start, MAX_UNITS) > 0
        || Long.compareUnsigned(count, MAX_UNITS) > 0
        || Long.compareUnsigned(start + count, MAX_UNITS) > 0
        || Long.compareUnsigned(start + count, start) < 0) {
      ctx.reject(
          subject,
          slotAddress,
          "start "
              + Long.toUnsignedString(start)
              + " + count "
              + Long.toUnsignedString(count)
              + " sectors of 512 bytes overflows 64 bits");
      return null;
    }
    long address = start << 9;
    long extent = count << 9;
    List<String> warnings = new ArrayList<>();
    int sectorSize;
    long lba;
    Media media;
    if (e.fromCdrom()) {
      sectorSize = 2048;
      lba = count >>> 2;
      media = Media.CDROM;
      if ((count & 3) != 0) {
        warnings.add(
            "CD memdrive count "
                + count
                + " is not a multiple of 4 (512-byte units); last "
                + (count & 3)
                + " units not exposed");
      }
      if (lba == 0) {
        ctx.reject(
            subject, address, "CD memdrive of " + count + " units has no whole 2048-byte sector");
        return null;
      }
    } else {
      sectorSize = 512;
      lba = count;
      media = (e.fromDrive() & 0x80) != 0 ? Media.HARD_DISK : Media.FLOPPY;
    }
    int heads = e.maxHead() + 1;
    int spt = e.maxSector() & DriveMapSlot.MAX_SECTOR_SPT_MASK;
    long cylinders = spt == 0 ? 0 : count / ((long) heads * spt);
    if (spt == 0) {
      warnings.add("emulated sectors per track 0 (CHS disabled)");
    } else if (media != Media.CDROM && cylinders * heads * spt != count) {
      warnings.add(
          "geometry "
              + cylinders
              + "/"
              + heads
              + "/"
              + spt
              + " covers "
              + cylinders * heads * spt
              + " of "
              + count
              + " sectors (GRUB4DOS rounds memdrives up to 4 KiB)");
    }
    boolean readOnly = e.restriction().equals("read-only");
    boolean fakeWrite = e.restriction().equals("fake-write");
    if (fakeWrite) {
      warnings.add("restriction fake-write: writes succeed and are discarded");
    }
    MemoryDisk disk =
        new MemoryDisk(
            -1,
            DiskKind.GRUB4DOS,
            "GRUB4DOS slot " + e.slot() + " (" + hookSubject + ")",
            address,
            lba * sectorSize,
            sectorSize,
            lba,
            cylinders,
            heads,
            spt,
            media,
            e.fromDrive(),
            readOnly,
            media == Media.CDROM,
            fakeWrite,
            slotAddress,
            List.copyOf(warnings));
    return new ProbeContext.Candidate(
        disk, extent, false, subject + " memdrive at " + hex(address));
  }

  /** GRUB4DOS never maps one FROM drive twice; if a table does, neither slot can be trusted. */
  private static void rejectDuplicateDrives(
      ProbeContext ctx,
      List<Grub4DosInfo.DriveMapEntry> entries,
      List<Memdrive> memdrives,
      long base,
      List<String> warnings) {
    for (int i = 0; i < entries.size(); i++) {
      for (int j = i + 1; j < entries.size(); j++) {
        var a = entries.get(i);
        var b = entries.get(j);
        if (a.fromDrive() != b.fromDrive()) {
          continue;
        }
        String why =
            "slots "
                + a.slot()
                + " and "
                + b.slot()
                + " both map drive "
                + hex(a.fromDrive())
                + " (GRUB4DOS never does this)";
        warnings.add(why);
        memdrives.removeIf(
            m -> {
              boolean hit = m.slot() == a.slot() || m.slot() == b.slot();
              if (hit) {
                ctx.reject(m.candidate().subject(), m.candidate().disk().address(), why);
              }
              return hit;
            });
      }
    }
  }

  private record Memdrive(int slot, ProbeContext.Candidate candidate) {}
}
