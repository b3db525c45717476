package dev.vdisk.virtio.pci;

/**
 * The concrete layout of the virtio BAR for one function: a {@link PciProfile} sized for a number
 * of queues and MSI-X vectors. Immutable.
 *
 * <p>Alignment rules checked here (virtio 1.2 §4.1.4): common and device config offsets 4-byte
 * aligned; notify offset 4-byte aligned (2 suffices without NOTIFICATION_DATA, 4 allows it); the
 * notify length covers {@code queue_notify_off * multiplier + 4} for every queue; the multiplier an
 * even power of two; MSI-X table and PBA offsets QWORD aligned (PCI 3.0 §6.8.2); no two structures
 * overlap; the BAR size a power of two of at least 4 KiB so that standard BAR sizing works.
 */
public final class BarLayout {
  /** Largest MSI-X table the capability can describe (Table Size is 11 bits). */
  public static final int MAX_MSIX_VECTORS = 2048;

  private final PciProfile profile;
  private final BarWidth width;
  private final long size;
  private final BarRegion common;
  private final BarRegion notify;
  private final BarRegion isr;
  private final BarRegion device;
  private final BarRegion msixTable;
  private final BarRegion msixPba;
  private final int msixVectors;
  private final int queueCount;

  private BarLayout(PciProfile profile, BarWidth width, int queueCount, int msixVectors) {
    this.profile = profile;
    this.width = width;
    this.queueCount = queueCount;
    this.msixVectors = msixVectors;
    this.common = new BarRegion(profile.commonOffset, profile.commonLength);
    int notifyLength =
        Math.max(profile.minNotifyLength, queueCount * PciProfile.NOTIFY_OFF_MULTIPLIER);
    if (notifyLength > PciProfile.MAX_NOTIFY_LENGTH) {
      throw new IllegalArgumentException(
          "queue count "
              + queueCount
              + " (expected: at most "
              + PciProfile.MAX_NOTIFY_LENGTH / PciProfile.NOTIFY_OFF_MULTIPLIER
              + " for profile "
              + profile
              + ")");
    }
    this.notify = new BarRegion(profile.notifyOffset, notifyLength);
    this.isr = new BarRegion(profile.isrOffset, profile.isrLength);
    this.device = new BarRegion(profile.deviceOffset, profile.deviceLength);
    long end = Math.max(Math.max(common.end(), notify.end()), Math.max(isr.end(), device.end()));
    if (msixVectors > 0) {
      int tableLength = 16 * msixVectors;
      this.msixTable = new BarRegion(profile.msixTableOffset, tableLength);
      int pbaOffset = profile.msixTableOffset + alignUp(tableLength, profile.pbaAlignment);
      this.msixPba = new BarRegion(pbaOffset, 8 * ((msixVectors + 63) / 64));
      end = Math.max(end, msixPba.end());
    } else {
      this.msixTable = null;
      this.msixPba = null;
    }
    this.size = Math.max(PciProfile.MIN_BAR_SIZE, Long.highestOneBit(end - 1) << 1);
    checkRules();
  }

  /**
   * The layout of {@code profile} for a device with {@code queueCount} queues and {@code
   * msixVectors} MSI-X vectors (0 = no MSI-X capability). Throws naming the value that does not
   * fit.
   */
  public static BarLayout of(PciProfile profile, BarWidth width, int queueCount, int msixVectors) {
    if (queueCount < 1 || queueCount > 0xFFFF) {
      throw new IllegalArgumentException("queue count " + queueCount + " (expected: 1..65535)");
    }
    if (msixVectors < 0 || msixVectors > MAX_MSIX_VECTORS) {
      throw new IllegalArgumentException(
          "MSI-X vectors " + msixVectors + " (expected: 0..." + MAX_MSIX_VECTORS + ")");
    }
    return new BarLayout(profile, width, queueCount, msixVectors);
  }

  private void checkRules() {
    check(common.offset() % 4 == 0, "common cfg offset not 4-byte aligned");
    check(device.offset() % 4 == 0, "device cfg offset not 4-byte aligned");
    check(notify.offset() % 4 == 0, "notify offset not 4-byte aligned");
    check(
        notify.length()
            >= (queueCount - 1) * (long) PciProfile.NOTIFY_OFF_MULTIPLIER + Integer.BYTES,
        "notify window too short for the last queue");
    int m = PciProfile.NOTIFY_OFF_MULTIPLIER;
    check(m == 0 || (Integer.bitCount(m) == 1 && m % 2 == 0), "multiplier not an even power of 2");
    BarRegion[] all = {common, notify, isr, device, msixTable, msixPba};
    for (int i = 0; i < all.length; i++) {
      if (all[i] == null) {
        continue;
      }
      check(all[i].end() <= size, "region " + all[i] + " outside the BAR");
      for (int j = i + 1; j < all.length; j++) {
        if (all[j] != null) {
          check(
              all[i].end() <= all[j].offset() || all[j].end() <= all[i].offset(),
              "regions " + all[i] + " and " + all[j] + " overlap");
        }
      }
    }
    if (msixTable != null) {
      check(msixTable.offset() % 8 == 0 && msixPba.offset() % 8 == 0, "MSI-X not QWORD aligned");
    }
    check(Long.bitCount(size) == 1 && size >= 4096, "BAR size not a power of two >= 4 KiB");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("BAR layout breaks a spec rule: " + what);
    }
  }

  static int alignUp(int value, int alignment) {
    return (value + alignment - 1) & -alignment;
  }

  public PciProfile profile() {
    return profile;
  }

  public BarWidth width() {
    return width;
  }

  /** Index of the BAR (its low dword when 64-bit). */
  public int bar() {
    return profile.bar;
  }

  /** BAR size in bytes, a power of two. */
  public long size() {
    return size;
  }

  public BarRegion commonCfg() {
    return common;
  }

  public BarRegion notifyCfg() {
    return notify;
  }

  public BarRegion isrCfg() {
    return isr;
  }

  public BarRegion deviceCfg() {
    return device;
  }

  /** The MSI-X table, or null when the function has no MSI-X capability. */
  public BarRegion msixTable() {
    return msixTable;
  }

  /** The MSI-X pending-bit array, or null when the function has no MSI-X capability. */
  public BarRegion msixPba() {
    return msixPba;
  }

  public int msixVectors() {
    return msixVectors;
  }

  public int queueCount() {
    return queueCount;
  }

  public int notifyOffMultiplier() {
    return PciProfile.NOTIFY_OFF_MULTIPLIER;
  }

  @Override
  public String toString() {
    return String.format(
        "BarLayout{%s BAR%d %s size=0x%x common=%s notify=%s isr=%s device=%s table=%s pba=%s}",
        profile, bar(), width, size, common, notify, isr, device, msixTable, msixPba);
  }
}
