package dev.vdisk.memdisk;

import dev.vdisk.api.MemoryRegion;
import dev.vdisk.api.ReadableGuestMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds MEMDISK mBFTs that no chain hook pointed to (spec §4 step 4, §5.7): a MEMDISK that was
 * unhooked, or hidden behind a hooker without a safe hook. Scans 16-byte boundaries from 0x500 to
 * 0x9FFF0 — a fixed bound of 40 880 candidates.
 *
 * <p>Range: syslinux's {@code memdiskfind} scans from the current base-memory top (BDA 0x413) to
 * 0xA0000, WinVBlock from 0 to 0xFFFF0. vdisk scans all of conventional memory above the IVT/BDA:
 * MEMDISK reserves its block by lowering 0x413, so its mBFT is always below 0xA0000, but a later
 * program may have raised 0x413 again, so starting at 0x413 could miss an unhooked MEMDISK. The
 * 0xA0000-0xFFFFF part WinVBlock adds is VGA memory and ROM, where MEMDISK never writes; leaving it
 * out saves 37% of the scan, which is most of a probe's time.
 *
 * <p>The scan copies that range into a 4 KiB buffer one chunk at a time (one range check per chunk,
 * each chunk inside one region) and compares signatures in the copy. Reading each candidate with a
 * checked {@code u32} cost a region lookup per candidate and was most of a probe's time; the fuzzer
 * runs the probe once per input.
 */
final class MbftScanner {
  /** Last candidate address: the last 16-byte slot of conventional memory. */
  static final long SCAN_END = LowMemory.LEGACY_HOLE_START - Mbft.ALIGNMENT;

  /** Chunk copied per range check: a multiple of the 16-byte alignment. */
  static final int CHUNK = 4096;

  /**
   * Most signatures examined per probe. A real image holds one mBFT per MEMDISK (seen: 1-2); an
   * image with a signature in every slot would otherwise cost 40 880 parses and rejections (7.5 ms
   * and 40 880 lines of output), so the scan stops and says so.
   */
  static final int MAX_FINDS = 64;

  private static final int SIGNATURE_BYTES = 4;

  /** Little-endian u32 view of the chunk: one load per candidate, whatever the host order. */
  private static final VarHandle U32_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  private final MemdiskParser memdisk;
  private final byte[] chunk = new byte[CHUNK];

  MbftScanner(MemdiskParser memdisk) {
    this.memdisk = memdisk;
  }

  void scan(ProbeContext ctx) {
    ReadableGuestMemory memory = ctx.memory;
    int finds = 0;
    for (int r = 0; r < memory.regionCount(); r++) {
      MemoryRegion region = memory.region(r);
      // Candidates a (16-aligned, 0x500 <= a <= SCAN_END) whose 4 signature bytes lie in region r.
      long first = Math.max(LowMemory.IVT_BDA_END, alignUp(region.guestBase()));
      if (Long.compareUnsigned(region.guestBase(), SCAN_END) > 0
          || Long.compareUnsigned(region.guestLast(), first + SIGNATURE_BYTES - 1) < 0) {
        continue;
      }
      long lastInRegion = region.guestLast() - (SIGNATURE_BYTES - 1);
      long last = Long.compareUnsigned(lastInRegion, SCAN_END) < 0 ? lastInRegion : SCAN_END;
      for (long a = first; a <= last; a += CHUNK) {
        // Bytes to copy: whole 16-byte slots up to the last candidate, plus its 4 signature bytes.
        int n = (int) Math.min(CHUNK, last - a + SIGNATURE_BYTES);
        memory.read(a, chunk, 0, n);
        for (int i = 0; i + SIGNATURE_BYTES <= n; i += Mbft.ALIGNMENT) {
          if ((int) U32_LE.get(chunk, i) == (int) Mbft.SIGNATURE
              && !ctx.examinedMbfts.contains(a + i)) {
            if (finds++ == MAX_FINDS) {
              ctx.reject(
                  "mBFT scan",
                  a + i,
                  "more than "
                      + MAX_FINDS
                      + " 'mBFT' signatures outside the hook chain (a real image holds one per"
                      + " MEMDISK); scan stopped here");
              return;
            }
            memdisk.parseScanned(ctx, a + i);
          }
        }
      }
    }
  }

  private static long alignUp(long address) {
    return (address + Mbft.ALIGNMENT - 1) & -Mbft.ALIGNMENT;
  }
}
