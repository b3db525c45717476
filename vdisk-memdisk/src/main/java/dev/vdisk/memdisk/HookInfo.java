package dev.vdisk.memdisk;

/**
 * One safe INT 13h hook (spec §3, §4).
 *
 * @param position 0 for the hook the IVT points at, 1 for the one before it, ...; -1 when it was
 *     found by an mBFT scan and is not in the chain
 * @param vector seg:off the hook was reached through ("9F40:000A")
 * @param address linear address of the hook structure
 * @param kind MEMDISK, GRUB4DOS or UNKNOWN
 * @param vendor the 8 vendor bytes, non-printable bytes as '_' (WinVBlock's rule)
 * @param vendorHex the 8 vendor bytes in hex, memory order
 * @param prev the previous INT 13h vector it saved
 * @param prevAddress linear address of {@code prev}
 * @param flags safe-hook flags (bit 0: claimed by an OS driver; GRUB4DOS presets it)
 * @param mbft MEMDISK only: physical address of its mBFT, else null
 * @param inChain true when reached from the IVT
 */
public record HookInfo(
    int position,
    String vector,
    long address,
    String kind,
    String vendor,
    String vendorHex,
    String prev,
    long prevAddress,
    long flags,
    Long mbft,
    boolean inChain) {}
