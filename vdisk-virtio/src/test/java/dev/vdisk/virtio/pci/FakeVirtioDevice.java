package dev.vdisk.virtio.pci;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A virtio "block" device with no requests: it records what the transport does to it (activations,
 * kicks, resets) and lets a test raise notifications. Its configuration space is a plain byte
 * array. Touching guest memory is limited to reading the avail index of each activated queue on a
 * kick, so a property test can check that the transport only hands over rings inside guest RAM.
 */
class FakeVirtioDevice implements VirtioDevice {
  final long features;
  final int queues;
  final int maxQueueSize;
  final byte[] config;
  final List<Integer> kicks = new CopyOnWriteArrayList<>();
  final List<List<QueueSetup>> activations = new CopyOnWriteArrayList<>();
  volatile long activatedFeatures;
  volatile GuestMemory activatedMemory;
  volatile DeviceNotifier notifier;
  volatile int resets;
  volatile int stops;
  volatile String refuseFeatures;
  volatile boolean throwOnKick;

  FakeVirtioDevice(long features, int queues, int maxQueueSize, int configSize) {
    this.features = features;
    this.queues = queues;
    this.maxQueueSize = maxQueueSize;
    this.config = new byte[configSize];
  }

  static FakeVirtioDevice standard() {
    return new FakeVirtioDevice(
        VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
            | 1L << 9 /* FLUSH */
            | 1L << 6 /* BLK_SIZE */,
        2,
        256,
        0x60);
  }

  @Override
  public int deviceId() {
    return 2;
  }

  @Override
  public long deviceFeatures() {
    return features;
  }

  @Override
  public int queueCount() {
    return queues;
  }

  @Override
  public int maxQueueSize() {
    return maxQueueSize;
  }

  @Override
  public int configSize() {
    return config.length;
  }

  @Override
  public long readConfig(int offset, int size) {
    long v = 0;
    for (int i = 0; i < size; i++) {
      int b = offset + i;
      if (b >= 0 && b < config.length) {
        v |= (config[b] & 0xFFL) << (8 * i);
      }
    }
    return v;
  }

  @Override
  public void writeConfig(int offset, int size, long value) {
    if (offset == 0x20 && size == 1) { // "writeback", the only writable field
      config[0x20] = (byte) value;
    }
  }

  @Override
  public String validateFeatures(long driverFeatures) {
    return refuseFeatures;
  }

  @Override
  public void activate(
      long negotiatedFeatures,
      GuestMemory memory,
      List<QueueSetup> queueSetups,
      DeviceNotifier notifier) {
    this.activatedFeatures = negotiatedFeatures;
    this.activatedMemory = memory;
    this.notifier = notifier;
    activations.add(new ArrayList<>(queueSetups));
  }

  @Override
  public void queueNotified(int queue) {
    if (throwOnKick) {
      throw new IllegalStateException("fake device bug");
    }
    kicks.add(queue);
    for (QueueSetup s : activations.get(activations.size() - 1)) {
      if (s.index() == queue) {
        activatedMemory.lvU16(s.driverAddr() + 2); // avail.idx: must be inside guest memory
      }
    }
  }

  @Override
  public int stopQueue(int queue) {
    stops++;
    return 0;
  }

  @Override
  public void reset() {
    resets++;
    notifier = null;
  }
}
