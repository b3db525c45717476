package dev.vdisk.virtio.pci;

/**
 * The register interface of one PCI function, as a VMM forwards its guest's accesses: config space
 * by offset, memory BARs by BAR index and offset. Implementations never throw on guest-chosen
 * offsets, widths or values; unsupported accesses read as all ones (or 0, see the implementation)
 * and are otherwise ignored. The in-process driver model talks to a device only through this.
 */
public interface PciFunction {

  /** Reads {@code size} (1, 2 or 4) bytes of configuration space, zero-extended. */
  long configRead(int offset, int size);

  /** Writes the low {@code size} (1, 2 or 4) bytes of {@code value} to configuration space. */
  void configWrite(int offset, int size, long value);

  /** Reads {@code size} (1, 2, 4 or 8) bytes at {@code offset} in BAR {@code bar}. */
  long barRead(int bar, long offset, int size);

  /** Writes the low {@code size} (1, 2, 4 or 8) bytes of {@code value} into BAR {@code bar}. */
  void barWrite(int bar, long offset, int size, long value);
}
