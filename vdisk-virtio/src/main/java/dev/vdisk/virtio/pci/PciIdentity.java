package dev.vdisk.virtio.pci;

/**
 * The PCI identity every vdisk virtio-blk function presents. Vendor, device, revision and class are
 * constants, not options: the aerovblk Windows driver binds to exactly {@code
 * PCI\VEN_1AF4&DEV_1042&REV_01} and refuses anything else, OVMF's Virtio10Dxe wants a revision of
 * at least 1 and Linux derives the virtio device type from the device ID, so there is no
 * configuration in which another identity is useful. Only the subsystem ID is configurable, within
 * the range the spec recommends for non-transitional devices.
 *
 * <p>Sources: virtio 1.2 §4.1.2 (PCI device discovery); {@code virtio-blk.md} §1.
 */
public final class PciIdentity {
  /** Red Hat / virtio vendor ID, the only one virtio allows. */
  public static final int VENDOR_ID = 0x1AF4;

  /** 0x1040 + virtio device ID 2 (block): the modern-only ID. Never the transitional 0x1001. */
  public static final int DEVICE_ID = 0x1042;

  /**
   * Revision 1: non-transitional devices SHOULD use at least 1; aerovblk insists on exactly 1 and
   * OVMF on at least 1.
   */
  public static final int REVISION_ID = 0x01;

  /** Base class 0x01, mass storage (QEMU, SPDK and Aero use 0x010000). */
  public static final int CLASS_MASS_STORAGE = 0x01;

  /** Sub-class 0x00 (SCSI bus controller), as QEMU presents virtio-blk. */
  public static final int SUBCLASS = 0x00;

  /** Programming interface 0. */
  public static final int PROG_IF = 0x00;

  /** Subsystem vendor: the virtio vendor, as QEMU. */
  public static final int SUBSYSTEM_VENDOR_ID = 0x1AF4;

  /**
   * Default subsystem ID: QEMU's value for modern virtio devices, which is also what virtio-win's
   * viostor matches in its full hardware ID ({@code SUBSYS_11001AF4}). aerovblk ignores the
   * subsystem, so the Aero profile uses it too (the Aero contract's own 0x0002 would make OVMF
   * refuse the device, which requires at least 0x40).
   */
  public static final int DEFAULT_SUBSYSTEM_ID = 0x1100;

  /** Lowest subsystem ID a non-transitional device should present (keeps legacy drivers off). */
  public static final int MIN_SUBSYSTEM_ID = 0x40;

  /** Interrupt pin INTA#: aerovblk refuses the device unless the pin reads 1. */
  public static final int INTERRUPT_PIN = 0x01;

  /** The virtio device ID this identity stands for (block). */
  public static final int VIRTIO_DEVICE_ID = DEVICE_ID - 0x1040;

  private PciIdentity() {}

  /** Checks an embedder-chosen subsystem ID; throws naming the bad value. */
  static int checkSubsystemId(int subsystemId) {
    if (subsystemId < MIN_SUBSYSTEM_ID || subsystemId > 0xFFFF) {
      throw new IllegalArgumentException(
          String.format(
              "subsystem ID 0x%x (expected: 0x%x..0xffff; non-transitional virtio devices keep"
                  + " below-0x40 values for legacy drivers, and OVMF refuses them)",
              subsystemId, MIN_SUBSYSTEM_ID));
    }
    return subsystemId;
  }
}
