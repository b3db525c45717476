package dev.vdisk.virtio.pci;

/** How the function currently signals, with the codes aerovblk's QUERY_INFO uses. */
public enum InterruptMode {
  /** MSI-X disabled: INTx level + ISR (aerovblk code 0). */
  INTX,
  /** MSI-X enabled (aerovblk code 1, "MSI"). */
  MSIX;

  /** The value aerovblk's {@code AEROVBLK_QUERY_INFO.InterruptMode} uses. */
  public int aeroCode() {
    return ordinal();
  }
}
