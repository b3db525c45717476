package dev.vdisk.vhost.testing;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import java.util.List;

/**
 * A device that hides some of its feature bits from the driver, to reach the device's own checks
 * that a well-behaved driver never lets requests through to (e.g. a read-only disk without the RO
 * bit: Linux refuses writes to an RO disk before they reach the device).
 */
public final class HiddenFeaturesDevice implements VirtioDevice {
  private final VirtioDevice device;
  private final long hidden;

  public HiddenFeaturesDevice(VirtioDevice device, long hidden) {
    this.device = device;
    this.hidden = hidden;
  }

  @Override
  public int deviceId() {
    return device.deviceId();
  }

  @Override
  public long deviceFeatures() {
    return device.deviceFeatures() & ~hidden;
  }

  @Override
  public int queueCount() {
    return device.queueCount();
  }

  @Override
  public int maxQueueSize() {
    return device.maxQueueSize();
  }

  @Override
  public int configSize() {
    return device.configSize();
  }

  @Override
  public long readConfig(int offset, int size) {
    return device.readConfig(offset, size);
  }

  @Override
  public void writeConfig(int offset, int size, long value) {
    device.writeConfig(offset, size, value);
  }

  @Override
  public String validateFeatures(long driverFeatures) {
    return device.validateFeatures(driverFeatures);
  }

  @Override
  public void activate(
      long negotiatedFeatures, GuestMemory memory, List<QueueSetup> queues, DeviceNotifier n) {
    device.activate(negotiatedFeatures, memory, queues, n);
  }

  @Override
  public void queueNotified(int queue) {
    device.queueNotified(queue);
  }

  @Override
  public int stopQueue(int queue) {
    return device.stopQueue(queue);
  }

  @Override
  public void reset() {
    device.reset();
  }
}
