package dev.vdisk.memdisk;

import java.util.List;
import java.util.Locale;

/** Formats a {@link ProbeResult} for people: every hook, table, disk, rejection and warning. */
public final class ProbeReport {
  private ProbeReport() {}

  public static String format(ProbeResult r) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT, "memory image: %s (%d bytes mapped)%n", r.mappedRanges(), r.imageSize()));
    sb.append("INT 13h hook chain:\n");
    if (r.hooks().isEmpty()) {
      sb.append("  (no safe hooks)\n");
    }
    for (HookInfo h : r.hooks()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "  %s %s at 0x%X  vendor %s  prev %s  flags 0x%X%s%n",
              h.inChain() ? "#" + h.position() : "(scan)",
              h.vector(),
              h.address(),
              h.vendor(),
              h.prev(),
              h.flags(),
              h.mbft() == null ? "" : String.format(Locale.ROOT, "  mBFT 0x%X", h.mbft())));
    }
    if (r.chainEnd() != null) {
      sb.append(
          String.format(
              Locale.ROOT, "  end at %s: %s%n", r.chainEnd().vector(), r.chainEnd().reason()));
    }
    for (MemdiskInfo m : r.memdisks()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "MEMDISK %s (hook 0x%X%s): mBFT 0x%X (%d bytes), MDI %d bytes, diskbuf 0x%X, %d"
                  + " sectors of %d, command line \"%s\", old INT 13h %s, old INT 15h %s, old base"
                  + " memory %d KiB%n",
              m.version(),
              m.hookAddress(),
              m.inChain() ? "" : ", not in chain",
              m.mbftAddress(),
              m.mbftLength(),
              m.mdiBytes(),
              m.diskBuffer(),
              m.diskSectors(),
              1 << m.sectorShift(),
              m.commandLine() == null ? "?" : m.commandLine(),
              m.oldInt13(),
              m.oldInt15(),
              m.oldDosMemKib()));
      var p = m.patch();
      if (p != null) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  drive 0x%02X type %d count %d, C/H/S %d/%d/%d, config 0x%02X%s%n",
                p.driveNumber(),
                p.driveType(),
                p.driveCount(),
                p.cylinders(),
                p.heads(),
                p.sectors(),
                p.configFlags(),
                p.readOnly() ? " (read-only)" : ""));
      }
      if (m.cdPacket() != null) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  El Torito: media type %d, image at RBA %d%n",
                m.cdPacket().mediaType(),
                m.cdPacket().imageRba()));
      }
      appendWarnings(sb, m.warnings());
    }
    for (Grub4DosInfo g : r.grub4dos()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "GRUB4DOS block at 0x%X (%d KiB), drive map at 0x%X, old INT 13h %s%n",
              g.blockAddress(),
              g.blockKib(),
              g.tableAddress(),
              g.oldInt13()));
      for (var s : g.slots()) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  slot %d: 0x%02X -> %s start %s count %s%s%s, %s%n",
                s.slot(),
                s.fromDrive(),
                s.memory() ? "memory" : String.format(Locale.ROOT, "0x%02X", s.toDrive()),
                Long.toUnsignedString(s.startSector()),
                Long.toUnsignedString(s.sectorCount()),
                s.fromCdrom() ? " (CD)" : "",
                s.toCdrom() ? " (to CD)" : "",
                s.restriction()));
      }
      appendWarnings(sb, g.warnings());
    }
    sb.append("disks:\n");
    if (r.disks().isEmpty()) {
      sb.append("  (none)\n");
    }
    for (MemoryDisk d : r.disks()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "  [%d] %s %s drive 0x%02X: 0x%X-0x%X, %d bytes (%d x %d), C/H/S %d/%d/%d, %s  (%s)%n",
              d.index(),
              d.kind(),
              d.media().name().toLowerCase(Locale.ROOT).replace('_', ' '),
              d.biosDrive(),
              d.address(),
              d.address() + d.size() - 1,
              d.size(),
              d.lbaCount(),
              d.sectorSize(),
              d.cylinders(),
              d.heads(),
              d.sectors(),
              d.readOnly() ? "read-only" : d.writesDiscarded() ? "fake-write" : "read-write",
              d.origin()));
      appendWarnings(sb, d.warnings());
    }
    if (!r.rejected().isEmpty()) {
      sb.append("rejected:\n");
      for (Rejection x : r.rejected()) {
        sb.append("  ").append(x).append('\n');
      }
    }
    if (!r.warnings().isEmpty()) {
      sb.append("warnings:\n");
      appendWarnings(sb, r.warnings());
    }
    return sb.toString();
  }

  private static void appendWarnings(StringBuilder sb, List<String> warnings) {
    for (String w : warnings) {
      sb.append("  warning: ").append(w).append('\n');
    }
  }
}
