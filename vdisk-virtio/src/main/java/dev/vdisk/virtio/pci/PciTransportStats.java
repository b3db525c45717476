package dev.vdisk.virtio.pci;

import java.util.List;
import java.util.Map;

/**
 * A snapshot of the transport's state and counters. Besides every bad-input counter it carries the
 * transport side of aerovblk's {@code AEROVBLK_QUERY_INFO} (interrupt mode, MSI-X vectors and
 * message count, configuration-change events) so a test can compare the driver's view with the
 * device's; the queue side (queue size, avail/used index, in-flight) belongs to the device's own
 * statistics.
 *
 * @param deviceStatus device_status as the driver would read it
 * @param offeredFeatures features presented in device_feature
 * @param negotiatedFeatures features accepted at FEATURES_OK (0 before)
 * @param configGeneration config_generation
 * @param interruptMode INTx or MSI-X
 * @param msixVectors MSI-X table size (aerovblk's MessageCount), 0 without MSI-X
 * @param configVector config_msix_vector
 * @param queueVectors queue_msix_vector per queue
 * @param isr ISR bits pending (not cleared by taking the snapshot)
 * @param barAddress base address the guest programmed into the virtio BAR (0 = unassigned)
 * @param needsResetReason why DEVICE_NEEDS_RESET is set, or null
 * @param counters every {@link PciCounter}
 */
public record PciTransportStats(
    int deviceStatus,
    long offeredFeatures,
    long negotiatedFeatures,
    int configGeneration,
    InterruptMode interruptMode,
    int msixVectors,
    int configVector,
    List<Integer> queueVectors,
    int isr,
    long barAddress,
    String needsResetReason,
    Map<PciCounter, Long> counters) {

  public long counter(PciCounter counter) {
    return counters.getOrDefault(counter, 0L);
  }

  /** aerovblk's MsixQueue0Vector. */
  public int queue0Vector() {
    return queueVectors.isEmpty() ? CommonCfg.NO_VECTOR : queueVectors.get(0);
  }

  /** aerovblk's CapacityChangeEvents, counted on the device side. */
  public long configChanges() {
    return counter(PciCounter.CONFIG_CHANGES);
  }

  /** Sum of every guest-error counter. */
  public long guestErrors() {
    long n = 0;
    for (Map.Entry<PciCounter, Long> e : counters.entrySet()) {
      if (e.getKey().isGuestError()) {
        n += e.getValue();
      }
    }
    return n;
  }
}
