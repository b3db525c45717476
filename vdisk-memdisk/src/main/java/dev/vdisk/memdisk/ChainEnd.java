package dev.vdisk.memdisk;

/**
 * Where the hook chain walk stopped.
 *
 * @param vector the last vector followed ("F000:E3FE")
 * @param address its linear address
 * @param reason why the walk stopped ("no safe hook signature (BIOS or a plain hooker)" is normal)
 * @param normal false when it stopped on a fault (cycle, hop limit, bad vector)
 */
public record ChainEnd(String vector, long address, String reason, boolean normal) {}
