package dev.vdisk.vhost.testing;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A {@link VirtioDevice} that records what its transport does to it: activations (with the queue
 * setups and the memory it was given), notifications per queue, stops and resets. Configuration
 * space byte i reads as {@code 0x10 + i}.
 */
public final class RecordingDevice implements VirtioDevice {
  public static final long FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1)
          | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
          | (1L << 9); // virtio-blk FLUSH, for a device-specific bit

  /** One activate call. */
  public record Activation(long features, List<QueueSetup> queues, GuestMemory memory) {}

  public final List<Activation> activations = new CopyOnWriteArrayList<>();
  public final AtomicIntegerArray notified;
  public final AtomicInteger resets = new AtomicInteger();
  public final List<Integer> stopped = new CopyOnWriteArrayList<>();
  public final byte[] config = new byte[64];
  private final int queues;
  private volatile DeviceNotifier notifier;

  /** What stopQueue returns, per queue (default: the queue's starting index + 7). */
  public final AtomicIntegerArray stopIndex;

  public RecordingDevice(int queues) {
    this.queues = queues;
    this.notified = new AtomicIntegerArray(queues);
    this.stopIndex = new AtomicIntegerArray(queues);
    for (int i = 0; i < config.length; i++) {
      config[i] = (byte) (0x10 + i);
    }
  }

  public DeviceNotifier notifier() {
    return notifier;
  }

  @Override
  public int deviceId() {
    return 2;
  }

  @Override
  public long deviceFeatures() {
    return FEATURES;
  }

  @Override
  public int queueCount() {
    return queues;
  }

  @Override
  public int maxQueueSize() {
    return 256;
  }

  @Override
  public int configSize() {
    return config.length;
  }

  @Override
  public long readConfig(int offset, int size) {
    long v = 0;
    for (int i = size - 1; i >= 0; i--) {
      int at = offset + i;
      v = (v << 8) | (at >= 0 && at < config.length ? config[at] & 0xff : 0);
    }
    return v;
  }

  @Override
  public void writeConfig(int offset, int size, long value) {
    for (int i = 0; i < size; i++) {
      int at = offset + i;
      if (at >= 0 && at < config.length) {
        config[at] = (byte) (value >>> (8 * i));
      }
    }
  }

  @Override
  public String validateFeatures(long driverFeatures) {
    return null;
  }

  @Override
  public void activate(
      long negotiatedFeatures,
      GuestMemory memory,
      List<QueueSetup> setups,
      DeviceNotifier notifier) {
    this.notifier = notifier;
    for (QueueSetup q : setups) {
      stopIndex.set(q.index(), q.nextAvail() + 7);
    }
    activations.add(new Activation(negotiatedFeatures, List.copyOf(setups), memory));
  }

  @Override
  public void queueNotified(int queue) {
    notified.incrementAndGet(queue);
  }

  @Override
  public int stopQueue(int queue) {
    stopped.add(queue);
    return stopIndex.get(queue);
  }

  @Override
  public void reset() {
    resets.incrementAndGet();
  }
}
