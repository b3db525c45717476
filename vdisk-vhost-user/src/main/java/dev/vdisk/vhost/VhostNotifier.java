package dev.vdisk.vhost;

import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.virtio.DeviceNotifier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device's way back to the guest over vhost-user: a used-buffer notification is a write to the
 * queue's call eventfd (the VMM turns it into an interrupt), a configuration change is a
 * CONFIG_CHANGE_MSG on the back-end channel when the front end opened one, and an unrecoverable
 * ring error is a write to the queue's err eventfd (QEMU logs it). Callable from any thread.
 */
final class VhostNotifier implements DeviceNotifier {
  private static final Logger LOG = LoggerFactory.getLogger(VhostNotifier.class);

  private final Vring[] vrings;
  private final VhostUserStats stats;
  private final Runnable configChange;
  private final Consumer<String> onNeedsReset;
  private volatile boolean callFailureLogged;

  VhostNotifier(
      Vring[] vrings, VhostUserStats stats, Runnable configChange, Consumer<String> onNeedsReset) {
    this.vrings = vrings;
    this.stats = stats;
    this.configChange = configChange;
    this.onNeedsReset = onNeedsReset;
  }

  @Override
  public void usedBuffers(int queue) {
    if (queue < 0 || queue >= vrings.length) {
      return;
    }
    try {
      if (vrings[queue].call.signal()) {
        stats.calls.increment();
      }
    } catch (NativeException e) {
      if (!callFailureLogged) {
        callFailureLogged = true;
        LOG.warn("queue {}: cannot signal the call eventfd: {}", queue, e.getMessage());
      }
    }
  }

  @Override
  public void configChanged() {
    configChange.run();
  }

  @Override
  public void needsReset(String reason) {
    onNeedsReset.accept(reason);
    for (Vring v : vrings) {
      if (v.active) {
        try {
          v.err.signal();
        } catch (NativeException e) {
          LOG.debug("queue {}: cannot signal the err eventfd: {}", v.index, e.getMessage());
        }
      }
    }
  }
}
