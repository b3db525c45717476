package dev.vdisk.memdisk;

/**
 * Finds MEMDISK mBFTs that no chain hook pointed to (spec §4 step 4, §5.7): a MEMDISK that was
 * unhooked, or hidden behind a hooker without a safe hook. Scans 16-byte boundaries from 0x500 to
 * 0xFFFF0 (WinVBlock's range; syslinux's memdiskfind scans less) — a fixed bound of 65 504 probes.
 */
final class MbftScanner {
  static final long SCAN_END = LowMemory.FIRST_MIB - Mbft.ALIGNMENT;

  private final MemdiskParser memdisk;

  MbftScanner(MemdiskParser memdisk) {
    this.memdisk = memdisk;
  }

  void scan(ProbeContext ctx) {
    var memory = ctx.memory;
    for (long a = LowMemory.IVT_BDA_END; a <= SCAN_END; a += Mbft.ALIGNMENT) {
      if (Bounds.mapped(memory, a, 4)
          && memory.u32(a) == Mbft.SIGNATURE
          && !ctx.examinedMbfts.contains(a)) {
        memdisk.parseScanned(ctx, a);
      }
    }
  }
}
