package dev.vdisk.virtio.blk;

/**
 * Which peer the device's defaults imitate (vdisk spec section 11). A profile sets defaults and,
 * for AERO, also forbids settings the contract does not allow: {@link
 * VirtioBlkDevice.Builder#build()} names the conflicting setting.
 */
public enum Profile {
  /**
   * Close to QEMU's {@code virtio-blk-pci-non-transitional}: what Linux and the virtio-win drivers
   * expect. Offers INDIRECT_DESC, EVENT_IDX, SEG_MAX (queue size - 2), GEOMETRY, BLK_SIZE,
   * TOPOLOGY, FLUSH, CONFIG_WCE, MQ when more than one queue, RO for read-only backends, and
   * DISCARD / WRITE_ZEROES when the backend supports them. seg_max is advertised but not enforced:
   * Windows viostor ignores it (spec 7.3 item 10), and QEMU accepts such requests.
   */
  DEFAULT,

  /**
   * The AERO-W7-VIRTIO contract v1 that the aerovblk Windows 7 driver checks: exactly VERSION_1,
   * INDIRECT_DESC, SEG_MAX, BLK_SIZE and FLUSH offered; one queue of exactly 128 entries; every
   * other config field reads 0; seg_max enforced (the contract requires IOERR beyond it); used.len
   * reported as 0 (the contract says so; virtio allows an underestimate).
   */
  AERO
}
