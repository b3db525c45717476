package dev.vdisk.qemu;

/**
 * Command numbers of QEMU 7.2.0's {@code MPQemuCmd}. Earlier QEMU versions had only 0..3; recheck
 * these whenever the QEMU version changes (the protocol is private and unversioned).
 */
public final class MpqemuCommand {
  /** Proxy → remote: the whole guest-RAM map as memfds. No reply. */
  public static final int SYNC_SYSMEM = 0;

  /** Remote → proxy: the reply to every request. */
  public static final int RET = 1;

  public static final int PCI_CFGWRITE = 2;
  public static final int PCI_CFGREAD = 3;
  public static final int BAR_WRITE = 4;
  public static final int BAR_READ = 5;

  /** Proxy → remote: INTx eventfd and its resample eventfd. No reply. */
  public static final int SET_IRQFD = 6;

  public static final int DEVICE_RESET = 7;

  private static final String[] NAMES = {
    "SYNC_SYSMEM",
    "RET",
    "PCI_CFGWRITE",
    "PCI_CFGREAD",
    "BAR_WRITE",
    "BAR_READ",
    "SET_IRQFD",
    "DEVICE_RESET"
  };

  private MpqemuCommand() {}

  public static String name(int cmd) {
    return cmd >= 0 && cmd < NAMES.length ? NAMES[cmd] : "unknown command " + cmd;
  }

  /**
   * Whether the proxy blocks for a RET after sending {@code cmd}. Unknown commands count as
   * requests: if one was a request, leaving it unanswered would hang that guest vCPU forever (the
   * proxy never times out); QEMU 7.2 sends none, so this only matters for a future or hostile peer.
   */
  public static boolean owesReply(int cmd) {
    return cmd != SYNC_SYSMEM && cmd != SET_IRQFD && cmd != RET;
  }
}
