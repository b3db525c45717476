package dev.vdisk.memdisk;

import static dev.vdisk.memdisk.ProbeContext.hex;

import java.util.ArrayList;
import java.util.List;

/**
 * Cross-checks disk candidates against the image and each other (spec §9, "Disks"): the extent must
 * be wholly in the image and clear of the IVT/BDA, the legacy hole and every loader's resident
 * block; the same extent found twice is one disk; overlapping disks are refused together (unless
 * the embedder asks for them); a MEMDISK only the scan found is exposed only on request.
 */
final class DiskVetter {

  List<MemoryDisk> vet(ProbeContext ctx) {
    List<ProbeContext.Candidate> survivors = new ArrayList<>();
    for (ProbeContext.Candidate c : ctx.candidates) {
      String reason = placementProblem(ctx, c);
      if (reason != null) {
        ctx.reject(c.subject(), c.disk().address(), reason);
        continue;
      }
      ProbeContext.Candidate same = sameExtent(survivors, c);
      if (same != null) {
        ctx.warn(c.subject() + " is the same region as " + same.subject() + "; reported once");
        continue;
      }
      survivors.add(c);
    }
    boolean[] overlapping = new boolean[survivors.size()];
    for (int i = 0; i < survivors.size(); i++) {
      for (int j = i + 1; j < survivors.size(); j++) {
        var a = survivors.get(i);
        var b = survivors.get(j);
        if (Bounds.overlaps(
            a.disk().address(), a.extentLength(), b.disk().address(), b.extentLength())) {
          overlapping[i] = true;
          overlapping[j] = true;
          String note = " overlaps " + b.subject();
          ctx.warn(a.subject() + note);
          if (!ctx.options.includeOverlapping()) {
            ctx.reject(a.subject(), a.disk().address(), "overlaps " + b.subject());
            ctx.reject(b.subject(), b.disk().address(), "overlaps " + a.subject());
          }
        }
      }
    }
    List<MemoryDisk> disks = new ArrayList<>();
    for (int i = 0; i < survivors.size(); i++) {
      var c = survivors.get(i);
      if (overlapping[i] && !ctx.options.includeOverlapping()) {
        continue;
      }
      if (c.disconnected() && !ctx.options.includeDisconnected()) {
        ctx.reject(
            c.subject(),
            c.disk().address(),
            "its MEMDISK is not in the INT 13h hook chain (found by the mBFT scan); not exposed"
                + " unless asked (includeDisconnected)");
        continue;
      }
      disks.add(c.disk().withIndex(disks.size()));
    }
    return disks;
  }

  private static String placementProblem(ProbeContext ctx, ProbeContext.Candidate c) {
    long address = c.disk().address();
    long length = c.extentLength();
    if (length <= 0 || c.disk().size() <= 0) {
      return "zero size";
    }
    if (address + length < address && address + length != 0) {
      return "extent " + hex(address) + " + " + length + " wraps past 2^64";
    }
    if (!Bounds.covered(ctx.memory, address, length)) {
      return "extent ["
          + hex(address)
          + ", "
          + hex(address + length)
          + ") is not wholly in the image (mapped: "
          + ctx.ranges()
          + ")";
    }
    if (Bounds.overlaps(address, length, 0, LowMemory.IVT_BDA_END)) {
      return "extent overlaps the IVT/BDA (0x0-0x4FF)";
    }
    if (Bounds.overlaps(
        address,
        length,
        LowMemory.LEGACY_HOLE_START,
        LowMemory.FIRST_MIB - LowMemory.LEGACY_HOLE_START)) {
      return "extent overlaps video memory and ROMs (0xA0000-0xFFFFF)";
    }
    for (ProbeContext.Reserved r : ctx.reserved) {
      if (Bounds.overlaps(address, length, r.start(), r.length())) {
        return "extent overlaps the " + r.what();
      }
    }
    return null;
  }

  private static ProbeContext.Candidate sameExtent(
      List<ProbeContext.Candidate> survivors, ProbeContext.Candidate c) {
    for (ProbeContext.Candidate s : survivors) {
      if (s.disk().address() == c.disk().address()
          && s.extentLength() == c.extentLength()
          && s.disk().kind() == c.disk().kind()
          && s.disk().descriptorAddress() == c.disk().descriptorAddress()) {
        return s;
      }
    }
    return null;
  }
}
