package dev.vdisk.memdisk;

import java.nio.charset.StandardCharsets;

/**
 * What {@link MemdiskInstaller} puts in guest memory: one RAM disk as MEMDISK 6.04 would describe
 * it.
 *
 * @param diskAddress guest-physical address of the disk's first byte (1 MiB .. 4 GiB)
 * @param sectors disk length in sectors of {@code 1 << sectorShift} bytes
 * @param media floppy (drive 0x00), hard disk (0x80) or no-emulation CD-ROM (0xE0, 2048-byte
 *     sectors)
 * @param cylinders emulated cylinders (a CD gets MEMDISK's placeholders 65535/255/15)
 * @param heads emulated heads
 * @param sectorsPerTrack emulated sectors per track
 * @param readOnly sets configflags bit 0 (MEMDISK option {@code ro})
 * @param commandLine MEMDISK's command line as a guest driver would read it (ASCII, < 256 bytes)
 */
public record MemdiskLayout(
    long diskAddress,
    long sectors,
    Media media,
    int cylinders,
    int heads,
    int sectorsPerTrack,
    boolean readOnly,
    String commandLine) {

  public MemdiskLayout {
    if (diskAddress < LowMemory.FIRST_MIB) {
      throw new IllegalArgumentException(
          String.format(
              "disk address 0x%x (expected >= 1 MiB: MEMDISK loads above it)", diskAddress));
    }
    int shift = media == Media.CDROM ? 11 : 9;
    if (sectors <= 0 || sectors > 0xFFFFFFFFL || diskAddress + (sectors << shift) > 1L << 32) {
      throw new IllegalArgumentException(
          String.format(
              "disk of %d sectors at 0x%x (expected 1..2^32-1 sectors ending below 4 GiB)",
              sectors, diskAddress));
    }
    if (cylinders < 0 || cylinders > 0xFFFF || heads < 0 || heads > 0xFFFF || sectorsPerTrack < 0) {
      throw new IllegalArgumentException(
          "geometry "
              + cylinders
              + "/"
              + heads
              + "/"
              + sectorsPerTrack
              + " (expected u16/u16/u32)");
    }
    if (commandLine == null) {
      commandLine = "";
    }
    if (commandLine.length() > 255
        || !StandardCharsets.US_ASCII.newEncoder().canEncode(commandLine)
        || commandLine.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("command line must be ASCII without NUL, < 256 bytes");
    }
  }

  /** A 1.44 MB floppy (80/2/18) at {@code address}. */
  public static MemdiskLayout floppy(long address) {
    return new MemdiskLayout(address, 2880, Media.FLOPPY, 80, 2, 18, false, "");
  }

  /** A hard disk of {@code bytes} (a multiple of 512) with the usual 255/63 or 16/63 geometry. */
  public static MemdiskLayout hardDisk(long address, long bytes) {
    var g = dev.vdisk.api.Geometry.forHardDisk(bytes, 512);
    return new MemdiskLayout(
        address,
        bytes / 512,
        Media.HARD_DISK,
        (int) Math.min(0xFFFF, g.cylinders()),
        g.heads(),
        g.sectorsPerTrack(),
        false,
        "harddisk");
  }

  /** A no-emulation CD of {@code bytes} (a multiple of 2048), geometry as MEMDISK gives it. */
  public static MemdiskLayout cdrom(long address, long bytes) {
    return new MemdiskLayout(address, bytes / 2048, Media.CDROM, 65535, 255, 15, false, "iso");
  }

  public MemdiskLayout withReadOnly(boolean value) {
    return new MemdiskLayout(
        diskAddress, sectors, media, cylinders, heads, sectorsPerTrack, value, commandLine);
  }

  public MemdiskLayout withCommandLine(String value) {
    return new MemdiskLayout(
        diskAddress, sectors, media, cylinders, heads, sectorsPerTrack, readOnly, value);
  }

  int sectorShift() {
    return media == Media.CDROM ? 11 : 9;
  }

  long sizeBytes() {
    return sectors << sectorShift();
  }

  int driveNumber() {
    return switch (media) {
      case FLOPPY -> 0x00;
      case HARD_DISK -> 0x80;
      case CDROM -> Mdi.DRIVENO_CDROM;
    };
  }
}
