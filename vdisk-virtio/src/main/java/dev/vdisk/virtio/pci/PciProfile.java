package dev.vdisk.virtio.pci;

/**
 * Where the virtio structures sit in the function's memory BAR. Both profiles use one memory BAR
 * for everything (MSI-X table and PBA included) and a {@code notify_off_multiplier} of 4 with
 * {@code queue_notify_off(q) = q}, so queue {@code q}'s doorbell is the notify base + 4q.
 *
 * <pre>
 *  DEFAULT (BAR4, after QEMU's virtio-blk-pci-non-transitional modern BAR)
 *   0x0000 common cfg   0x1000      0x1000 ISR        0x1000
 *   0x2000 device cfg   0x1000      0x3000 notify     0x1000 (mult 4: up to 1024 queues)
 *   0x4000 MSI-X table  16/vector   0x4000+align(16n, 0x800) PBA
 *   BAR size: next power of two of the end, at least 0x4000 (0x8000 with MSI-X)
 *
 *  AERO (BAR0, Aero Windows 7 virtio contract v1 — what aerovblk's strict mode checks)
 *   0x0000 common cfg   0x0100      0x1000 notify     max(0x100, 4*queues)
 *   0x2000 ISR          0x0020      0x3000 device cfg 0x0100
 *   0x3100 MSI-X table  16/vector   PBA 8-byte aligned after the table (0x3120 for 2 vectors)
 *   BAR size: 0x4000 (aerovblk wants at least 0x4000), more only if the table does not fit
 * </pre>
 *
 * QEMU itself puts the MSI-X table and PBA in a separate BAR1; vdisk keeps them in the virtio BAR
 * (in their own 4 KiB page in DEFAULT) so that an embedder maps one BAR. The BAR is
 * non-prefetchable in both profiles because reading the ISR has a side effect.
 */
public enum PciProfile {
  /** Close to QEMU's modern layout: what Linux, SeaBIOS, OVMF and virtio-win expect. */
  DEFAULT(4, 0x0000, 0x1000, 0x3000, 0x1000, 0x1000, 0x1000, 0x2000, 0x1000, 0x4000, 0x800),
  /** The aerovblk contract v1 layout (virtio-blk spec notes §2.2 and §11). */
  AERO(0, 0x0000, 0x0100, 0x1000, 0x0100, 0x2000, 0x0020, 0x3000, 0x0100, 0x3100, 8);

  /** Notification address stride between queues, bytes. Even power of two as the spec wants. */
  public static final int NOTIFY_OFF_MULTIPLIER = 4;

  /** Largest notify window: the next structure starts 0x1000 after the notify base. */
  static final int MAX_NOTIFY_LENGTH = 0x1000;

  /** Smallest BAR either profile presents (aerovblk's minimum). */
  static final int MIN_BAR_SIZE = 0x4000;

  final int bar;
  final int commonOffset;
  final int commonLength;
  final int notifyOffset;
  final int minNotifyLength;
  final int isrOffset;
  final int isrLength;
  final int deviceOffset;
  final int deviceLength;
  final int msixTableOffset;
  final int pbaAlignment;

  PciProfile(
      int bar,
      int commonOffset,
      int commonLength,
      int notifyOffset,
      int minNotifyLength,
      int isrOffset,
      int isrLength,
      int deviceOffset,
      int deviceLength,
      int msixTableOffset,
      int pbaAlignment) {
    this.bar = bar;
    this.commonOffset = commonOffset;
    this.commonLength = commonLength;
    this.notifyOffset = notifyOffset;
    this.minNotifyLength = minNotifyLength;
    this.isrOffset = isrOffset;
    this.isrLength = isrLength;
    this.deviceOffset = deviceOffset;
    this.deviceLength = deviceLength;
    this.msixTableOffset = msixTableOffset;
    this.pbaAlignment = pbaAlignment;
  }

  /** Index of the BAR holding the virtio structures (its low dword for a 64-bit BAR). */
  public int bar() {
    return bar;
  }
}
