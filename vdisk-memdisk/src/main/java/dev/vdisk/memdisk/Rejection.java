package dev.vdisk.memdisk;

/**
 * A candidate the probe refused, and why.
 *
 * @param subject what was refused ("MEMDISK mBFT at 0x9F8C0", "GRUB4DOS slot 3")
 * @param address guest-physical address of the refused structure (or of the disk)
 * @param reason one line naming the offending numbers
 */
public record Rejection(String subject, long address, String reason) {
  @Override
  public String toString() {
    return subject + ": " + reason;
  }
}
