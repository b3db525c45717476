package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemoryException;

/**
 * Follows the INT 13h hook chain from the IVT through safe hooks (spec §4): records every hook,
 * dispatches MEMDISK and GRUB4DOS hooks to their parsers, and stops on the first vector without a
 * {@code $INT13SF} signature. A visited set and a hop limit bound the walk; a vector into the
 * IVT/BDA or above 1 MiB (ambiguous with A20 wrap) is refused.
 */
final class HookChainWalker {
  private final SafeHook hook = new SafeHook();
  private final MemdiskParser memdisk;
  private final Grub4DosParser grub4dos;

  HookChainWalker(MemdiskParser memdisk, Grub4DosParser grub4dos) {
    this.memdisk = memdisk;
    this.grub4dos = grub4dos;
  }

  void walk(ProbeContext ctx) {
    var memory = ctx.memory;
    if (!Bounds.mapped(memory, LowMemory.INT13_VECTOR, 4)) {
      ctx.reject(
          "INT 13h vector",
          LowMemory.INT13_VECTOR,
          "IVT entry 0x4C not in the image (mapped: " + ctx.ranges() + ")");
      return;
    }
    long vector = memory.u32(LowMemory.INT13_VECTOR);
    int limit = ctx.options.hopLimit();
    long[] visited = new long[limit];
    int hops = 0;
    while (true) {
      long linear = RealMode.linear(vector);
      if (linear < LowMemory.IVT_BDA_END) {
        fault(
            ctx,
            vector,
            "vector " + RealMode.format(vector) + " points into the IVT/BDA (below 0x500)");
        return;
      }
      if (linear >= LowMemory.FIRST_MIB) {
        fault(
            ctx,
            vector,
            "vector "
                + RealMode.format(vector)
                + " is linear "
                + ProbeContext.hex(linear)
                + ", above 0xFFFFF (ambiguous with the A20 wrap)");
        return;
      }
      hook.wrap(memory, linear);
      if (!hook.fits(SafeHook.SIZE)) {
        end(
            ctx,
            vector,
            "the 27 bytes at " + RealMode.format(vector) + " are not in the image",
            true);
        return;
      }
      if (!hook.hasSignature()) {
        boolean rom = linear >= LowMemory.ROM_AREA_START;
        end(ctx, vector, "no $INT13SF signature (BIOS or a plain hooker)", true);
        if (!rom) {
          ctx.warn(
              "hook chain ends at "
                  + RealMode.format(vector)
                  + ", outside the BIOS/option ROM area 0xC0000-0xFFFFF (MEMDISK nopassany, or an"
                  + " INT 13h hooker without a safe hook)");
        }
        return;
      }
      for (int i = 0; i < hops; i++) {
        if (visited[i] == linear) {
          fault(
              ctx,
              vector,
              "hook chain loops: hook at "
                  + RealMode.format(vector)
                  + " (linear "
                  + ProbeContext.hex(linear)
                  + ") was already visited at position "
                  + i);
          return;
        }
      }
      if (hops == limit) {
        fault(ctx, vector, "more than " + limit + " hooks in the chain (hop limit); stopped");
        return;
      }
      visited[hops] = linear;
      long prev = record(ctx, vector, hops);
      hops++;
      vector = prev;
    }
  }

  /** Records the hook at {@code vector}, dispatches it, and returns its saved previous vector. */
  private long record(ProbeContext ctx, long vector, int position) {
    long linear = hook.address();
    long vendor = hook.vendor();
    long prev = hook.prev();
    long flags = hook.flags();
    String kind = kindOf(vendor);
    Long mbft = null;
    if (vendor == SafeHook.VENDOR_MEMDISK && hook.fits(SafeHook.MEMDISK_SIZE)) {
      mbft = hook.mbft();
    }
    ctx.chainHooks.add(linear);
    ctx.hooks.add(
        new HookInfo(
            position,
            RealMode.format(vector),
            linear,
            kind,
            Ascii.printable(vendor, 8),
            Ascii.hex(vendor, 8),
            RealMode.format(prev),
            RealMode.linear(prev),
            flags,
            mbft,
            true));
    try {
      if (vendor == SafeHook.VENDOR_MEMDISK) {
        memdisk.parseHook(ctx, linear, prev, true, "MEMDISK hook " + RealMode.format(vector));
      } else if (vendor == SafeHook.VENDOR_GRUB4DOS) {
        grub4dos.parse(ctx, vector, linear, prev);
      }
    } catch (GuestMemoryException e) {
      // Parsers check ranges before reading; this is the backstop that keeps the walk going.
      ctx.reject(kind + " hook " + RealMode.format(vector), linear, "read outside the image: " + e);
    }
    return prev;
  }

  static String kindOf(long vendor) {
    if (vendor == SafeHook.VENDOR_MEMDISK) {
      return DiskKind.MEMDISK.name();
    }
    if (vendor == SafeHook.VENDOR_GRUB4DOS) {
      return DiskKind.GRUB4DOS.name();
    }
    return "UNKNOWN";
  }

  private static void end(ProbeContext ctx, long vector, String reason, boolean normal) {
    ctx.chainEnd = new ChainEnd(RealMode.format(vector), RealMode.linear(vector), reason, normal);
  }

  private static void fault(ProbeContext ctx, long vector, String reason) {
    end(ctx, vector, reason, false);
    ctx.reject("INT 13h hook chain", RealMode.linear(vector), reason);
  }
}
