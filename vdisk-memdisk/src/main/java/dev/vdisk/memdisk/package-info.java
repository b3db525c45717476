/**
 * Finds the RAM disks that syslinux's MEMDISK and GRUB4DOS ({@code map --mem}) leave in a PC
 * guest's physical memory, and serves them as {@link dev.vdisk.api.BlockDevice}s in place.
 *
 * <h2>Pieces</h2>
 *
 * <ul>
 *   <li>{@link dev.vdisk.memdisk.MemdiskProbe}: the entry point; returns a {@link
 *       dev.vdisk.memdisk.ProbeResult} (records; {@link dev.vdisk.memdisk.ProbeReport} prints it,
 *       {@link dev.vdisk.memdisk.ProbeJson} serialises it).
 *   <li>Flyweights over guest memory, one per structure, with the layout in their class comment:
 *       {@link dev.vdisk.memdisk.SafeHook}, {@link dev.vdisk.memdisk.Mbft}, {@link
 *       dev.vdisk.memdisk.Mdi}, {@link dev.vdisk.memdisk.Grub4DosBlock}, {@link
 *       dev.vdisk.memdisk.DriveMapSlot}.
 *   <li>Parsers (package-private): the hook-chain walker, the MEMDISK and GRUB4DOS parsers, the
 *       mBFT scanner and the disk vetter, which share a probe context collecting rejections.
 *   <li>{@link dev.vdisk.memdisk.MemoryDiskDevice}: the zero-copy block-device view; {@link
 *       dev.vdisk.memdisk.MemoryDump}: mmap'd raw dumps; {@link
 *       dev.vdisk.memdisk.MemdiskInstaller}: the inverse (writes MEMDISK structures).
 * </ul>
 *
 * <h2>Hostile input</h2>
 *
 * Memory images are untrusted. Every structure's range is checked with {@code regionIndex} before
 * it is read (the property tests count any read {@code GuestMemory} refuses and require zero),
 * every refusal becomes a {@link dev.vdisk.memdisk.Rejection} with the offending numbers, the chain
 * walk has a visited set and a hop limit, the scan a fixed bound, and no allocation depends on a
 * size read from the image. The probe never writes (WinVBlock does: it marks claimed hooks).
 *
 * <h2>Where vdisk differs from the spec or WinVBlock, and why</h2>
 *
 * <ul>
 *   <li>MEMDISK {@code sector_shift} 1..8 is rejected, not just warned about: a 2..256-byte sector
 *       cannot be served as a block device, and MEMDISK only writes 0, 9 or 11.
 *   <li>WinVBlock trusts the mBFT a hook points to; vdisk validates it like the scan path
 *       (signature, length = 40 + MDI bytes, checksum, back-pointer) and honours {@code
 *       sector_shift} and the read-only flag.
 *   <li>GRUB4DOS: the count is in 512-byte units also for CDs (WinVBlock's CD is 4x too large), the
 *       geometry is the FROM drive's ({@code max_head}/{@code max_sector}), "TO is a CD" (bit 14)
 *       is a real drive even when {@code to_drive} is 0xFF, and the restriction bits give read-only
 *       or fake-write. The table is found from the hook's linear address minus 0x100; a hook whose
 *       vector offset is not 0x100 is refused (WinVBlock uses {@code segment * 16}).
 *   <li>The mBFT scan covers conventional memory 0x500-0x9FFF0 (WinVBlock: 0-0xFFFF0): MEMDISK's
 *       block is always below 0xA0000, and the VGA/ROM part was 37% of the scan (see {@code
 *       MbftScanner}).
 *   <li>Checked against real data: Debian's MEMDISK 6.04 under QEMU TCG (MemdiskQemuIT: floppy,
 *       {@code harddisk ro}, {@code iso}, El Torito floppy emulation). GRUB4DOS is not packaged by
 *       Debian, so its layout is tested on structures synthesized from the spec and WinVBlock's
 *       {@code grub4dos.h}.
 * </ul>
 *
 * <p>The module README maps every bullet of the issue and every bad-input class to its tests.
 */
package dev.vdisk.memdisk;
