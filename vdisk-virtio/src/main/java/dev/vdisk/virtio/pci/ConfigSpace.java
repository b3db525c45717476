package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.PciHeader.*;
import static dev.vdisk.virtio.pci.VirtioPciCap.*;

/**
 * The 256-byte configuration space image of the function with a write mask per byte, in the manner
 * of QEMU's {@code config}/{@code wmask}: a write changes only the bits its mask allows, so
 * read-only registers, the read-only low bits of a BAR and the BAR's size bits all behave as on
 * hardware without special cases (writing all ones to a BAR reads back its size mask).
 *
 * <p>Capability chain (virtio-blk spec notes §2.2, all in the first 256 bytes, 4-byte aligned,
 * ending with next = 0):
 *
 * <pre>
 *  0x40 virtio COMMON_CFG  (16)  -> 0x50 virtio NOTIFY_CFG (20)  -> 0x64 virtio ISR_CFG (16)
 *  -> 0x74 virtio DEVICE_CFG (16) -> 0x84 virtio PCI_CFG (20)     -> 0x98 MSI-X (12, if vectors > 0)
 * </pre>
 *
 * Not thread-safe: the owner serialises access.
 */
final class ConfigSpace {
  static final int COMMON_CAP = 0x40;
  static final int NOTIFY_CAP = 0x50;
  static final int ISR_CAP = 0x64;
  static final int DEVICE_CAP = 0x74;
  static final int PCI_CFG_CAP = 0x84;
  static final int MSIX_CAP = 0x98;

  /** Command bits a driver may change. I/O decode is hard-wired 0 (no I/O BAR). */
  static final int COMMAND_WRITABLE =
      COMMAND_MEMORY | COMMAND_BUS_MASTER | COMMAND_PARITY | COMMAND_SERR | COMMAND_INTX_DISABLE;

  private final byte[] image = new byte[CONFIG_SPACE_SIZE];
  private final byte[] wmask = new byte[CONFIG_SPACE_SIZE];
  private final BarLayout layout;

  ConfigSpace(BarLayout layout, int subsystemId) {
    this.layout = layout;
    put16(VENDOR_ID, PciIdentity.VENDOR_ID);
    put16(DEVICE_ID, PciIdentity.DEVICE_ID);
    put16(STATUS, STATUS_CAP_LIST);
    put8(REVISION_ID, PciIdentity.REVISION_ID);
    put8(PROG_IF, PciIdentity.PROG_IF);
    put8(SUBCLASS, PciIdentity.SUBCLASS);
    put8(CLASS_CODE, PciIdentity.CLASS_MASS_STORAGE);
    put8(HEADER_TYPE, 0x00);
    put16(SUBSYSTEM_VENDOR_ID, PciIdentity.SUBSYSTEM_VENDOR_ID);
    put16(SUBSYSTEM_ID, subsystemId);
    put8(CAPABILITIES_POINTER, COMMON_CAP);
    put8(INTERRUPT_PIN, PciIdentity.INTERRUPT_PIN);
    mask16(COMMAND, COMMAND_WRITABLE);
    mask8(CACHE_LINE_SIZE, 0xFF);
    mask8(INTERRUPT_LINE, 0xFF);
    initBar();
    initCapabilities();
  }

  private void initBar() {
    int bar = barOffset(layout.bar());
    long sizeMask = ~(layout.size() - 1);
    // Memory BAR, non-prefetchable (the ISR has a read side effect).
    int flags = layout.width() == BarWidth.BITS_64 ? BAR_MEM_TYPE_64 : 0;
    put32(bar, flags);
    mask32(bar, (int) sizeMask & BAR_MEM_ADDRESS_MASK);
    if (layout.width() == BarWidth.BITS_64) {
      mask32(bar + 4, (int) (sizeMask >>> 32));
    }
  }

  private void initCapabilities() {
    BarLayout l = layout;
    virtioCap(COMMON_CAP, NOTIFY_CAP, SIZE, TYPE_COMMON_CFG, l.commonCfg());
    virtioCap(NOTIFY_CAP, ISR_CAP, NOTIFY_SIZE, TYPE_NOTIFY_CFG, l.notifyCfg());
    put32(NOTIFY_CAP + NOTIFY_OFF_MULTIPLIER, l.notifyOffMultiplier());
    virtioCap(ISR_CAP, DEVICE_CAP, SIZE, TYPE_ISR_CFG, l.isrCfg());
    virtioCap(DEVICE_CAP, PCI_CFG_CAP, SIZE, TYPE_DEVICE_CFG, l.deviceCfg());
    int afterPciCfg = l.msixVectors() > 0 ? MSIX_CAP : 0;
    virtioCap(PCI_CFG_CAP, afterPciCfg, PCI_CFG_SIZE, TYPE_PCI_CFG, new BarRegion(0, 0));
    // The PCI_CFG window: the driver writes bar, offset, length and data (virtio 1.2 §4.1.4.9).
    mask8(PCI_CFG_CAP + BAR, 0xFF);
    mask32(PCI_CFG_CAP + OFFSET, -1);
    mask32(PCI_CFG_CAP + LENGTH, -1);
    mask32(PCI_CFG_CAP + PCI_CFG_DATA, -1);
    if (l.msixVectors() > 0) {
      put8(MSIX_CAP, CAP_ID_MSIX);
      put8(MSIX_CAP + 1, 0);
      put16(MSIX_CAP + MSIX_MESSAGE_CONTROL, l.msixVectors() - 1);
      mask16(MSIX_CAP + MSIX_MESSAGE_CONTROL, MSIX_ENABLE | MSIX_FUNCTION_MASK);
      put32(MSIX_CAP + MSIX_TABLE, l.msixTable().offset() | l.bar());
      put32(MSIX_CAP + MSIX_PBA, l.msixPba().offset() | l.bar());
    }
  }

  private void virtioCap(int at, int next, int len, int type, BarRegion region) {
    put8(at + CAP_VNDR, CAP_ID_VENDOR);
    put8(at + CAP_NEXT, next);
    put8(at + CAP_LEN, len);
    put8(at + CFG_TYPE, type);
    put8(at + BAR, type == TYPE_PCI_CFG ? 0 : layout.bar());
    put32(at + OFFSET, region.offset());
    put32(at + LENGTH, region.length());
  }

  /** Raw little-endian read of 1..4 bytes (caller checked the range). */
  int read(int offset, int size) {
    int v = 0;
    for (int i = 0; i < size; i++) {
      v |= (image[offset + i] & 0xFF) << (8 * i);
    }
    return v;
  }

  /**
   * Masked write of 1..4 bytes: only bits set in the write mask change. Returns true when at least
   * one byte of the access has a writable bit.
   */
  boolean write(int offset, int size, int value) {
    boolean writable = false;
    for (int i = 0; i < size; i++) {
      int m = wmask[offset + i] & 0xFF;
      if (m != 0) {
        writable = true;
        int b = (value >>> (8 * i)) & 0xFF;
        image[offset + i] = (byte) ((image[offset + i] & ~m) | (b & m));
      }
    }
    return writable;
  }

  int u8(int offset) {
    return image[offset] & 0xFF;
  }

  int u16(int offset) {
    return read(offset, 2);
  }

  int u32(int offset) {
    return read(offset, 4);
  }

  /** Sets bytes regardless of the mask (device-side updates). */
  void put8(int offset, int value) {
    image[offset] = (byte) value;
  }

  void put16(int offset, int value) {
    put8(offset, value);
    put8(offset + 1, value >>> 8);
  }

  void put32(int offset, int value) {
    put16(offset, value);
    put16(offset + 2, value >>> 16);
  }

  private void mask8(int offset, int mask) {
    wmask[offset] = (byte) mask;
  }

  private void mask16(int offset, int mask) {
    mask8(offset, mask);
    mask8(offset + 1, mask >>> 8);
  }

  private void mask32(int offset, int mask) {
    mask16(offset, mask);
    mask16(offset + 2, mask >>> 16);
  }

  /** Guest-programmed base of the virtio BAR (address bits only; 0 when unassigned). */
  long barBase() {
    int off = barOffset(layout.bar());
    long low = u32(off) & 0xFFFF_FFFFL & BAR_MEM_ADDRESS_MASK;
    if (layout.width() == BarWidth.BITS_64) {
      return low | ((u32(off + 4) & 0xFFFF_FFFFL) << 32);
    }
    return low;
  }
}
