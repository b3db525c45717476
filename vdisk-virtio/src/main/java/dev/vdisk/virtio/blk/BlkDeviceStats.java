package dev.vdisk.virtio.blk;

import java.util.List;

/**
 * A snapshot of a {@link VirtioBlkDevice}'s statistics: what aerovblk's {@code AEROVBLK_QUERY_INFO}
 * reports from the driver's side (negotiated features, queue size, avail/used index, in-flight
 * count, config-change events), seen from the device.
 *
 * @param offeredFeatures features the device offers
 * @param negotiatedFeatures features in force (0 when no driver session is active)
 * @param active a driver session is active
 * @param capacitySectors current capacity in 512-byte sectors
 * @param writeback current cache mode (config field {@code writeback})
 * @param configChanges capacity changes since build (aerovblk's CapacityChangeEvents counts the
 *     ones that happened while its session ran)
 * @param sessions driver sessions started (activate calls)
 * @param ignoredNotifications kicks for a queue that does not exist or is not running
 * @param lateCompletions backend completions dropped because their session was reset
 * @param activationFailures queues the driver described but the device could not start
 * @param abandonedOnReset requests still in flight when a reset's drain timeout ran out
 * @param internalErrors bugs of the device contained before they reached the VMM (must stay 0)
 * @param ignoredConfigWrites config-space writes to read-only or unknown fields
 * @param queues per-queue statistics, by queue index
 */
public record BlkDeviceStats(
    long offeredFeatures,
    long negotiatedFeatures,
    boolean active,
    long capacitySectors,
    boolean writeback,
    long configChanges,
    long sessions,
    long ignoredNotifications,
    long lateCompletions,
    long activationFailures,
    long abandonedOnReset,
    long internalErrors,
    long ignoredConfigWrites,
    List<BlkQueueStatsSnapshot> queues) {

  public BlkDeviceStats {
    queues = List.copyOf(queues);
  }

  public BlkQueueStatsSnapshot queue(int index) {
    return queues.get(index);
  }
}
