package dev.vdisk.memdisk;

import java.util.List;

/**
 * One GRUB4DOS resident block and its drive map (spec §6).
 *
 * @param hookAddress linear address of its safe hook (block + 0x100)
 * @param blockAddress start of the resident block
 * @param tableAddress start of the drive map (block + 0x20)
 * @param blockKib the block's size byte (KiB)
 * @param g4dsSignature whether the legacy "G4DS" tag is present
 * @param slots every non-empty slot, decoded
 */
public record Grub4DosInfo(
    long hookAddress,
    long blockAddress,
    long tableAddress,
    int blockKib,
    int cdromCount,
    int cdromBaseDrive,
    boolean g4dsSignature,
    int headerVersion,
    int equipmentByte,
    int hardDiskCount,
    String oldInt15,
    String oldInt13,
    List<DriveMapEntry> slots,
    List<String> warnings) {

  /**
   * One drive-map slot (spec §6.2-6.3).
   *
   * @param memory true for a memdrive (to 0xFF, TO not a CD): a RAM disk
   * @param startSector memory: physical address / 512; real drive: first sector on TO (unsigned)
   * @param sectorCount length in 512-byte units (unsigned)
   * @param restriction "none", "safe-boot", "read-only" or "fake-write"
   */
  public record DriveMapEntry(
      int slot,
      int fromDrive,
      int toDrive,
      int maxHead,
      int maxSector,
      int toCylinder,
      int toHead,
      int toSector,
      long startSector,
      long sectorCount,
      boolean memory,
      boolean fromCdrom,
      boolean toCdrom,
      boolean lbaDisabled,
      boolean inSitu,
      String restriction) {}
}
