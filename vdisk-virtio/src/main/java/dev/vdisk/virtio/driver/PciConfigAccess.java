package dev.vdisk.virtio.driver;

import dev.vdisk.virtio.pci.PciFunction;

/**
 * Typed configuration-space access over a {@link PciFunction}, as a guest's {@code
 * pci_read_config_*} helpers: every call is one naturally aligned access of the stated width.
 */
public final class PciConfigAccess {
  private final PciFunction function;

  public PciConfigAccess(PciFunction function) {
    this.function = function;
  }

  public int u8(int offset) {
    return (int) function.configRead(offset, 1) & 0xFF;
  }

  public int u16(int offset) {
    return (int) function.configRead(offset, 2) & 0xFFFF;
  }

  public long u32(int offset) {
    return function.configRead(offset, 4) & 0xFFFF_FFFFL;
  }

  public void write8(int offset, int value) {
    function.configWrite(offset, 1, value & 0xFF);
  }

  public void write16(int offset, int value) {
    function.configWrite(offset, 2, value & 0xFFFF);
  }

  public void write32(int offset, long value) {
    function.configWrite(offset, 4, value & 0xFFFF_FFFFL);
  }

  public PciFunction function() {
    return function;
  }
}
