package dev.vdisk.virtio.driver;

/**
 * What the driver model found in the capability list: the first usable capability of each virtio
 * structure type (list order is the device's preference) and the MSI-X capability.
 *
 * @param commonCfg common configuration
 * @param notifyCfg notification structure
 * @param notifyMultiplier notify_off_multiplier
 * @param isrCfg ISR byte
 * @param deviceCfg device-specific configuration (null when absent)
 * @param pciCfgCap config offset of the PCI_CFG capability (0 when absent)
 * @param msixCap config offset of the MSI-X capability (0 when absent)
 * @param msixTableSize number of MSI-X vectors
 * @param msixTable MSI-X table location (null when absent)
 * @param msixPba MSI-X PBA location (null when absent)
 */
public record VirtioPciCaps(
    Region commonCfg,
    Region notifyCfg,
    int notifyMultiplier,
    Region isrCfg,
    Region deviceCfg,
    int pciCfgCap,
    int msixCap,
    int msixTableSize,
    Region msixTable,
    Region msixPba) {

  /** A structure inside a BAR. */
  public record Region(int bar, long offset, long length) {}
}
