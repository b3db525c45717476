package dev.vdisk.virtio.driver;

/** Which real driver the {@link PciVirtioBlkDriver} imitates. */
public enum DriverBehaviour {
  /**
   * aerovblk (Aero's Windows 7 StorPort miniport): refuses anything but 1AF4:1042 rev 01 with
   * interrupt pin 1, a 64-bit BAR0 of at least 0x4000 and the contract's fixed layout; requires
   * queue 0 to be exactly 128 entries; negotiates exactly VERSION_1, INDIRECT_DESC, SEG_MAX,
   * BLK_SIZE and FLUSH; one queue; every request one indirect table of seg_max + 2 entries; INTx.
   */
  AEROVBLK,
  /**
   * Linux virtio_pci_modern + virtio_blk: takes every offered feature it knows (EVENT_IDX, MQ,
   * DISCARD, ...), direct descriptor chains, MSI-X with a vector per queue when the table is big
   * enough (else one shared queue vector, else INTx), several queues with MQ.
   */
  LINUX
}
