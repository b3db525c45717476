package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemoryException;
import dev.vdisk.api.ReadableGuestMemory;
import java.util.List;

/**
 * Finds the RAM disks MEMDISK and GRUB4DOS left in a guest's physical memory.
 *
 * <p>Walks the INT 13h hook chain from the IVT (spec §4), validates every MEMDISK mBFT and GRUB4DOS
 * drive map it reaches, optionally scans for mBFTs no longer in the chain, and cross-checks every
 * disk against the image. Untrusted input: it never throws on image content, never reads outside
 * the image (every read is range-checked first, and {@code GuestMemory} checks again), never
 * writes, and its work is bounded (hop limit, a fixed 640 KiB scan) whatever sizes the tables
 * claim. What it refuses is listed with a reason in {@link ProbeResult#rejected()}.
 *
 * <pre>{@code
 * ProbeResult r = MemdiskProbe.probe(guestMemory);
 * for (MemoryDisk d : r.disks()) {
 *   BlockDevice dev = MemoryDiskDevice.open(guestMemory, d);   // zero-copy view
 * }
 * }</pre>
 */
public final class MemdiskProbe {
  private MemdiskProbe() {}

  public static ProbeResult probe(ReadableGuestMemory memory) {
    return probe(memory, ProbeOptions.DEFAULTS);
  }

  public static ProbeResult probe(ReadableGuestMemory memory, ProbeOptions options) {
    ProbeContext ctx = new ProbeContext(memory, options);
    List<MemoryDisk> disks = List.of();
    MemdiskParser memdisk = new MemdiskParser();
    try {
      if (!Bounds.mapped(memory, 0, LowMemory.IVT_BDA_END)) {
        ctx.reject(
            "memory image",
            memory.regionCount() == 0 ? 0 : memory.region(0).guestBase(),
            "not a PC memory image: the IVT/BDA (0x0-0x4FF) is not mapped (mapped: "
                + ctx.ranges()
                + ")");
      } else {
        new HookChainWalker(memdisk, new Grub4DosParser()).walk(ctx);
      }
      if (options.scanForMbft()) {
        new MbftScanner(memdisk).scan(ctx);
      }
      disks = new DiskVetter().vet(ctx);
    } catch (GuestMemoryException e) {
      // Backstop: every parser checks ranges before reading, so this marks a parser bug, but the
      // embedder still gets a result rather than an exception.
      ctx.reject("probe", e.address(), "read outside the image: " + e.getMessage());
    } catch (RuntimeException e) {
      // Same backstop for any other parser bug: never let image content throw out of the probe.
      ctx.reject("probe", 0, "internal error: " + e);
    }
    long base = memory.regionCount() == 0 ? 0 : memory.region(0).guestBase();
    return new ProbeResult(
        base,
        Bounds.mappedBytes(memory),
        ctx.ranges(),
        List.copyOf(ctx.hooks),
        ctx.chainEnd,
        List.copyOf(ctx.memdisks),
        List.copyOf(ctx.grub4dos),
        disks,
        List.copyOf(ctx.rejected),
        List.copyOf(ctx.warnings));
  }
}
