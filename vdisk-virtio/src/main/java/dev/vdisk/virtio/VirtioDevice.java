package dev.vdisk.virtio;

import dev.vdisk.api.GuestMemory;
import java.util.List;

/**
 * A virtio device type (virtio-blk here) as every transport sees it. The transport owns status,
 * feature negotiation registers, queue registers and interrupts; the device owns its configuration
 * space, its queues' contents and request processing. Nothing in an implementation knows about PCI
 * or vhost-user, which is what lets one device be served by the in-process PCI transport, by
 * vhost-user and by QEMU's multi-process proxy.
 *
 * <p>Lifecycle: {@link #activate} after the driver set DRIVER_OK (or vhost-user started the rings),
 * then any number of {@link #queueNotified} calls, then {@link #reset} (which may come at any time,
 * including while requests are in flight) before the next activate.
 */
public interface VirtioDevice {

  /** Virtio device ID (2 for block). */
  int deviceId();

  /** Every feature the device offers, device-independent bits included (VERSION_1 always). */
  long deviceFeatures();

  /** Number of queues the device offers. */
  int queueCount();

  /** Largest queue size the device accepts (a power of two, at most 32768). */
  int maxQueueSize();

  /** Size in bytes of the device-specific configuration space. */
  int configSize();

  /**
   * Reads {@code size} (1, 2, 4 or 8) bytes of configuration space at {@code offset},
   * little-endian. Out-of-range reads return 0 rather than throw: the guest chose the offset.
   */
  long readConfig(int offset, int size);

  /** Writes configuration space; read-only or out-of-range fields ignore the write. */
  void writeConfig(int offset, int size, long value);

  /**
   * Checks a feature set the driver wants to accept (a subset of {@link #deviceFeatures()} with
   * VERSION_1, already checked by the transport) for device-specific dependencies. Returns null
   * when acceptable, else the reason to refuse FEATURES_OK.
   */
  String validateFeatures(long driverFeatures);

  /**
   * Starts the device. Called once per driver session, with every queue the driver enabled. The
   * device reads and writes guest memory only through {@code memory} and only within the rings and
   * buffers the driver gave it.
   */
  void activate(
      long negotiatedFeatures,
      GuestMemory memory,
      List<QueueSetup> queues,
      DeviceNotifier notifier);

  /**
   * The driver notified (kicked) {@code queue}. Processes what is available, on the calling thread,
   * up to a bounded amount of work; returns without blocking on slow backends when they are
   * asynchronous. Never throws into the caller: guest mistakes become statuses, counters and (when
   * unrecoverable) {@link DeviceNotifier#needsReset}. Calls for one queue are serialised by the
   * caller or by the device; calls for different queues may run concurrently.
   */
  void queueNotified(int queue);

  /**
   * Stops one queue and returns the index of the next available entry it would have consumed
   * (vhost-user GET_VRING_BASE). In-flight requests of that queue are completed first.
   */
  int stopQueue(int queue);

  /** Resets the device to its initial state; waits for or abandons in-flight requests safely. */
  void reset();
}
