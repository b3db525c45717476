package dev.vdisk.virtio.testing;

import dev.vdisk.virtio.DeviceNotifier;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/** Counts what a device tells its transport; thread-safe. */
public final class RecordingNotifier implements DeviceNotifier {
  private final AtomicIntegerArray used = new AtomicIntegerArray(1024);
  private final AtomicInteger configChanges = new AtomicInteger();
  private final List<String> resets = new CopyOnWriteArrayList<>();

  @Override
  public void usedBuffers(int queue) {
    used.incrementAndGet(queue);
  }

  @Override
  public void configChanged() {
    configChanges.incrementAndGet();
  }

  @Override
  public void needsReset(String reason) {
    resets.add(reason);
  }

  public int interrupts(int queue) {
    return used.get(queue);
  }

  public int configChanges() {
    return configChanges.get();
  }

  public List<String> resets() {
    return resets;
  }
}
