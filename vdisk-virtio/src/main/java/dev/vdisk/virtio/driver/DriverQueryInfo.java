package dev.vdisk.virtio.driver;

/**
 * The driver's view in the shape of aerovblk's {@code AEROVBLK_QUERY_INFO} (diagnostics IOCTL
 * 0x8000A001), for comparison with the device's own statistics.
 *
 * @param negotiatedFeatures features the driver accepted (FEATURES_OK held)
 * @param queueSize size of queue 0
 * @param numFree free descriptors of queue 0 (in flight = queueSize - numFree for direct chains)
 * @param availIdx avail.idx the driver last published on queue 0
 * @param usedIdx the next used index the driver will collect on queue 0
 * @param interruptMode 0 INTx, 1 MSI/MSI-X
 * @param msixConfigVector config_msix_vector as read back (0xFFFF with INTx)
 * @param msixQueue0Vector queue_msix_vector of queue 0 as read back (0xFFFF with INTx)
 * @param messageCount MSI-X messages the driver set up (0 with INTx)
 * @param capacityChangeEvents configuration-change interrupts the driver handled
 */
public record DriverQueryInfo(
    long negotiatedFeatures,
    int queueSize,
    int numFree,
    int availIdx,
    int usedIdx,
    int interruptMode,
    int msixConfigVector,
    int msixQueue0Vector,
    int messageCount,
    long capacityChangeEvents) {}
