package dev.vdisk.memdisk;

import java.util.List;

/**
 * One MEMDISK instance: its mBFT and MDI as found (spec §5.2-5.5). Fields the MDI version does not
 * have are null.
 *
 * @param hookAddress linear address of its safe hook
 * @param inChain false when only the mBFT scan found it
 * @param mbftAddress physical address of the mBFT
 * @param mbftLength the mBFT's length field
 * @param mbftRevision revision byte (1)
 * @param oemId "MEMDSK"
 * @param oemTableId "Syslinux"
 * @param mdiBytes MDI size: 30, 27 or 26
 * @param version "6.04"
 * @param diskBuffer physical address of the disk
 * @param diskSectors disk length in sectors of {@code 1 << sectorShift} bytes
 * @param sectorShift effective shift (9 when the field is 0 or absent)
 * @param commandLine MEMDISK's command line, or null when its pointer was unreadable
 * @param commandLineAddress linear address of the command line
 * @param oldInt13 INT 13h vector before MEMDISK
 * @param oldInt15 INT 15h vector before MEMDISK
 * @param oldDosMemKib base memory (KiB) before MEMDISK
 * @param bootLoaderId Linux boot protocol loader id (0xB0 QEMU, 0x30 SYSLINUX), MDI 27+
 * @param dptPointer offset from the block of the floppy table it put in INT 1Eh (0: none), MDI 30
 * @param patch the 6.04 patch area, or null when not read
 * @param edd the EDD table of EDD/ISO builds, or null
 * @param cdPacket the El Torito packet of ISO builds, or null
 * @param warnings tolerated oddities
 */
public record MemdiskInfo(
    long hookAddress,
    boolean inChain,
    long mbftAddress,
    long mbftLength,
    int mbftRevision,
    String oemId,
    String oemTableId,
    int mdiBytes,
    String version,
    long diskBuffer,
    long diskSectors,
    int sectorShift,
    String commandLine,
    long commandLineAddress,
    String oldInt13,
    String oldInt15,
    int oldDosMemKib,
    Integer bootLoaderId,
    Integer dptPointer,
    MemdiskPatchArea patch,
    EddInfo edd,
    CdPacketInfo cdPacket,
    List<String> warnings) {

  /**
   * MEMDISK 6.04's patch area after the MDI (spec §5.4).
   *
   * @param configFlags bit 0 read-only, 1 raw, 2 safeint, 3 bigraw
   */
  public record MemdiskPatchArea(
      int driveShiftLimit,
      int memInt1588Kib,
      int cylinders,
      int heads,
      long sectors,
      long mem1mbKib,
      long mem16mb64k,
      int driveNumber,
      int driveType,
      int driveCount,
      int configFlags,
      boolean readOnly,
      boolean raw,
      boolean safeInt,
      boolean bigRaw,
      int stack,
      int statusPointer,
      String oldInt1e) {}

  /** EDD 3.0 parameter table (INT 13h AH=48h) of EDD and ISO builds. */
  public record EddInfo(
      int flags,
      boolean chsValid,
      long cylinders,
      long heads,
      long sectors,
      long totalSectors,
      int bytesPerSector) {}

  /**
   * El Torito specification packet of ISO builds.
   *
   * @param mediaType 0 no emulation, 1/2/3 1.2/1.44/2.88 MB floppy, 4 hard disk
   * @param imageRba start of the boot image in 2048-byte blocks
   */
  public record CdPacketInfo(
      int mediaType, int drive, long imageRba, int loadSegment, int sectorCount) {}
}
