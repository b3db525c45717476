package dev.vdisk.virtio.driver;

import static dev.vdisk.virtio.pci.PciHeader.*;
import static dev.vdisk.virtio.pci.VirtioPciCap.*;

import dev.vdisk.virtio.driver.VirtioPciCaps.Region;

/**
 * Walks a function's capability list the way Linux's {@code virtio_pci_modern} and aerovblk do,
 * distrustfully: pointers must be 4-byte aligned and inside 0x40..0xFF, the walk is bounded (a
 * cyclic list cannot hang it), virtio caps must have {@code cap_len >= 16} (notify: 20), caps
 * naming a BAR above 5 or outside the BARs found are skipped, and each structure must fit inside
 * its BAR.
 */
public final class CapabilityWalker {
  /** At most (0x100 - 0x40) / 4 capabilities fit in conventional config space. */
  private static final int MAX_CAPS = 48;

  private CapabilityWalker() {}

  public static VirtioPciCaps walk(PciConfigAccess cfg, PciBar[] bars) {
    if ((cfg.u16(STATUS) & STATUS_CAP_LIST) == 0) {
      throw new DriverRefusedException("Status.Capabilities List is clear: no virtio caps");
    }
    Region common = null;
    Region notify = null;
    Region isr = null;
    Region device = null;
    int multiplier = 0;
    int pciCfg = 0;
    int msix = 0;
    int ptr = cfg.u8(CAPABILITIES_POINTER);
    for (int n = 0; ptr != 0; n++) {
      if (n == MAX_CAPS) {
        throw new DriverRefusedException("capability list does not end (cycle?)");
      }
      if ((ptr & 3) != 0 || ptr < CAPABILITIES_START || ptr > CONFIG_SPACE_SIZE - 4) {
        throw new DriverRefusedException(
            String.format("capability pointer 0x%x (expected: 4-aligned in 0x40..0xFC)", ptr));
      }
      int id = cfg.u8(ptr + CAP_VNDR);
      int next = cfg.u8(ptr + CAP_NEXT);
      if (id == CAP_ID_MSIX && msix == 0) {
        msix = ptr;
      } else if (id == CAP_ID_VENDOR) {
        int len = cfg.u8(ptr + CAP_LEN);
        int type = cfg.u8(ptr + CFG_TYPE);
        int bar = cfg.u8(ptr + BAR);
        if (len < SIZE || ptr + len > CONFIG_SPACE_SIZE) {
          throw new DriverRefusedException(
              String.format("virtio cap at 0x%x has cap_len %d (expected: >= 16)", ptr, len));
        }
        if (type == TYPE_PCI_CFG) {
          pciCfg = pciCfg == 0 ? ptr : pciCfg;
        } else if (bar < BAR_COUNT && bars[bar] != null && !bars[bar].io()) {
          Region r = new Region(bar, cfg.u32(ptr + OFFSET), cfg.u32(ptr + LENGTH));
          if (r.offset() + r.length() > bars[bar].size()) {
            throw new DriverRefusedException(
                String.format(
                    "virtio cap type %d at 0x%x: 0x%x+0x%x outside BAR%d of 0x%x bytes",
                    type, ptr, r.offset(), r.length(), bar, bars[bar].size()));
          }
          switch (type) {
            case TYPE_COMMON_CFG -> common = common == null ? r : common;
            case TYPE_NOTIFY_CFG -> {
              if (notify == null) {
                if (len < NOTIFY_SIZE) {
                  throw new DriverRefusedException(
                      String.format(
                          "notify cap at 0x%x has cap_len %d (expected: >= 20)", ptr, len));
                }
                notify = r;
                multiplier = (int) cfg.u32(ptr + NOTIFY_OFF_MULTIPLIER);
              }
            }
            case TYPE_ISR_CFG -> isr = isr == null ? r : isr;
            case TYPE_DEVICE_CFG -> device = device == null ? r : device;
            default -> {
              // unknown types are ignored, as the spec tells drivers
            }
          }
        }
      }
      ptr = next;
    }
    if (common == null || notify == null || isr == null) {
      throw new DriverRefusedException(
          "missing virtio capabilities: common=" + common + " notify=" + notify + " isr=" + isr);
    }
    int tableSize = 0;
    Region table = null;
    Region pba = null;
    if (msix != 0) {
      tableSize = (cfg.u16(msix + MSIX_MESSAGE_CONTROL) & MSIX_TABLE_SIZE_MASK) + 1;
      long t = cfg.u32(msix + MSIX_TABLE);
      long p = cfg.u32(msix + MSIX_PBA);
      table = new Region((int) (t & 7), t & ~7L, 16L * tableSize);
      pba = new Region((int) (p & 7), p & ~7L, 8L * ((tableSize + 63) / 64));
    }
    return new VirtioPciCaps(
        common, notify, multiplier, isr, device, pciCfg, msix, tableSize, table, pba);
  }
}
