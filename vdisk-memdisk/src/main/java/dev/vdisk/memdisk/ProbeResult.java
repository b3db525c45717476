package dev.vdisk.memdisk;

import java.util.List;

/**
 * Everything a probe found in one memory image: hooks, tables, RAM disks and the candidates it
 * refused. Immutable; serialises to JSON as-is ({@link ProbeJson}).
 *
 * @param imageBase lowest mapped guest-physical address
 * @param imageSize mapped bytes
 * @param mappedRanges the mapped ranges, for messages
 * @param hooks every safe hook, in chain order, then those only the mBFT scan found
 * @param chainEnd where the chain walk stopped (null when the IVT is not in the image)
 * @param memdisks every MEMDISK instance whose mBFT validated
 * @param grub4dos every GRUB4DOS block whose header was readable
 * @param disks the RAM disks that passed every check (these become block devices)
 * @param rejected refused candidates with reasons
 * @param warnings tolerated oddities of the image as a whole
 */
public record ProbeResult(
    long imageBase,
    long imageSize,
    String mappedRanges,
    List<HookInfo> hooks,
    ChainEnd chainEnd,
    List<MemdiskInfo> memdisks,
    List<Grub4DosInfo> grub4dos,
    List<MemoryDisk> disks,
    List<Rejection> rejected,
    List<String> warnings) {}
