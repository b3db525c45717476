package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.*;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The common configuration structure and the device lifecycle behind it: feature negotiation, the
 * device status state machine, queue registers, activation and reset (virtio 1.2 §2.1-2.4, §3.1,
 * §4.1.4.3). Bad driver writes are ignored or set DEVICE_NEEDS_RESET, each with its {@link
 * PciCounter}; nothing throws.
 *
 * <p>Threading: register accesses arrive under the transport's register lock. The notify fast path
 * ({@link #notifyQueue}) and the device's {@link DeviceNotifier} calls do not take it; they read
 * volatile/atomic state only, and anything that must not interleave with a reset runs under the
 * interrupt router's lock with a session epoch check.
 */
final class CommonConfigRegisters {
  private static final Logger LOG = LoggerFactory.getLogger(VirtioPciDevice.class);

  /** Transport-level feature bits this transport cannot honour; never presented. */
  static final long TRANSPORT_UNSUPPORTED =
      VirtioFeatures.bit(VirtioFeatures.SR_IOV)
          | VirtioFeatures.bit(39) // NOTIF_CONFIG_DATA: no queue_notif_config_data values
          | VirtioFeatures.bit(41) // ADMIN_VQ
          | VirtioFeatures.bit(43); // SUSPEND: no SUSPEND status handling

  private static final int DRIVER_STATUS_BITS =
      STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK | STATUS_FAILED;

  private final VirtioDevice device;
  private final QueueRestart restart;
  private final PciCounters counters;
  private final InterruptRouter irq;
  private final int queueCount;
  private final int maxQueueSize;
  private final long offered;

  private final AtomicInteger status = new AtomicInteger();
  private final AtomicBoolean configDirty = new AtomicBoolean();
  private int generation;
  private int deviceFeatureSelect;
  private int driverFeatureSelect;
  private long driverFeatures;
  private long negotiated;
  private int queueSelect;
  private final int[] queueSize;
  private final boolean[] queueEnabled;
  private final boolean[] queueWasReset;
  private final long[] descAddr;
  private final long[] driverAddr;
  private final long[] deviceAddr;

  /** 1 while the device owns the queue: the notify fast path forwards kicks only then. */
  private final AtomicIntegerArray queueLive;

  private volatile Session session;
  private volatile GuestMemory memory;
  private volatile boolean busMaster;
  private volatile String needsResetReason;

  CommonConfigRegisters(
      VirtioDevice device,
      QueueRestart restart,
      PciCounters counters,
      InterruptRouter irq,
      GuestMemory memory) {
    this.device = device;
    this.restart = restart;
    this.counters = counters;
    this.irq = irq;
    this.memory = memory;
    this.queueCount = device.queueCount();
    this.maxQueueSize = device.maxQueueSize();
    long unsupported = TRANSPORT_UNSUPPORTED;
    if (restart == null) {
      unsupported |= VirtioFeatures.bit(VirtioFeatures.RING_RESET);
    }
    this.offered = device.deviceFeatures() & ~unsupported;
    this.queueSize = new int[queueCount];
    this.queueEnabled = new boolean[queueCount];
    this.queueWasReset = new boolean[queueCount];
    this.descAddr = new long[queueCount];
    this.driverAddr = new long[queueCount];
    this.deviceAddr = new long[queueCount];
    this.queueLive = new AtomicIntegerArray(queueCount);
    clearQueues();
  }

  private void clearQueues() {
    for (int q = 0; q < queueCount; q++) {
      clearQueue(q);
      queueWasReset[q] = false;
    }
  }

  private void clearQueue(int q) {
    queueSize[q] = maxQueueSize;
    queueEnabled[q] = false;
    descAddr[q] = 0;
    driverAddr[q] = 0;
    deviceAddr[q] = 0;
  }

  long offeredFeatures() {
    return offered;
  }

  long negotiatedFeatures() {
    return negotiated;
  }

  int status() {
    return status.get();
  }

  int generation() {
    return generation;
  }

  String needsResetReason() {
    return needsResetReason;
  }

  void setMemory(GuestMemory memory) {
    this.memory = memory;
  }

  GuestMemory memory() {
    return memory;
  }

  // ================================================================ reads

  /**
   * Reads {@code size} bytes at {@code offset} of the structure: the little-endian bytes of the
   * register image, whatever the width and alignment (wrong ones were counted by the caller). Only
   * a proper read of config_generation has a side effect (it publishes a pending change).
   */
  long read(int offset, int size, boolean valid) {
    if (valid && offset == CONFIG_GENERATION) {
      publishConfigChange();
    }
    long v = 0;
    for (int i = 0; i < size; i++) {
      int b = offset + i;
      if (b >= SIZE) {
        continue;
      }
      int start = fieldStart(b);
      long field = fieldValue(start);
      v |= ((field >>> (8 * (b - start))) & 0xFF) << (8 * i);
    }
    return v;
  }

  private long fieldValue(int start) {
    int q = queueSelect;
    boolean qok = q < queueCount;
    switch (start) {
      case DEVICE_FEATURE_SELECT:
        return deviceFeatureSelect & 0xFFFF_FFFFL;
      case DEVICE_FEATURE:
        return window(offered, deviceFeatureSelect);
      case DRIVER_FEATURE_SELECT:
        return driverFeatureSelect & 0xFFFF_FFFFL;
      case DRIVER_FEATURE:
        return window(driverFeatures, driverFeatureSelect);
      case CONFIG_MSIX_VECTOR:
        return irq.configVector();
      case NUM_QUEUES:
        return queueCount;
      case DEVICE_STATUS:
        return status.get() & 0xFF;
      case CONFIG_GENERATION:
        return generation & 0xFF;
      case QUEUE_SELECT:
        return q;
      case QUEUE_SIZE:
        return qok ? queueSize[q] : 0;
      case QUEUE_MSIX_VECTOR:
        return qok ? irq.queueVector(q) : NO_VECTOR;
      case QUEUE_ENABLE:
        return qok && queueEnabled[q] ? 1 : 0;
      case QUEUE_NOTIFY_OFF:
        return qok ? q : 0;
      case QUEUE_DESC:
        return qok ? descAddr[q] : 0;
      case QUEUE_DRIVER:
        return qok ? driverAddr[q] : 0;
      case QUEUE_DEVICE:
        return qok ? deviceAddr[q] : 0;
      default:
        // queue_notif_config_data (NOTIF_CONFIG_DATA never offered), queue_reset (a reset
        // completes within the write, so it always reads 0), admin fields (no ADMIN_VQ).
        return 0;
    }
  }

  private static long window(long features, int select) {
    if (select == 0) {
      return features & 0xFFFF_FFFFL;
    }
    return select == 1 ? features >>> 32 : 0;
  }

  /** Device config is about to be read: a pending change becomes a new generation. */
  void publishConfigChange() {
    if (configDirty.getAndSet(false)) {
      generation = (generation + 1) & 0xFF;
    }
  }

  // ================================================================ writes

  /** A write the caller found to be of a width and alignment the spec allows for the field. */
  void write(int offset, int size, long value) {
    if (offset >= SIZE) {
      roWrite(offset);
      return;
    }
    int v16 = (int) value & 0xFFFF;
    switch (offset & ~7) {
      case QUEUE_DESC:
      case QUEUE_DRIVER:
      case QUEUE_DEVICE:
        writeQueueAddress(offset, size, value);
        return;
      default:
        break;
    }
    switch (offset) {
      case DEVICE_FEATURE_SELECT:
        deviceFeatureSelect = (int) value;
        break;
      case DRIVER_FEATURE_SELECT:
        driverFeatureSelect = (int) value;
        break;
      case DRIVER_FEATURE:
        writeDriverFeatures(value & 0xFFFF_FFFFL);
        break;
      case CONFIG_MSIX_VECTOR:
        irq.setConfigVector(v16);
        break;
      case DEVICE_STATUS:
        writeStatus((int) value & 0xFF);
        break;
      case QUEUE_SELECT:
        queueSelect = v16;
        break;
      case QUEUE_SIZE:
        writeQueueSize(v16);
        break;
      case QUEUE_MSIX_VECTOR:
        if (selected("queue_msix_vector")) {
          irq.setQueueVector(queueSelect, v16);
        }
        break;
      case QUEUE_ENABLE:
        writeQueueEnable(v16);
        break;
      case QUEUE_RESET:
        writeQueueReset(v16);
        break;
      default:
        roWrite(offset);
    }
  }

  private void roWrite(int offset) {
    counters.guestError(
        PciCounter.REGISTER_READ_ONLY_WRITE, "wrote read-only common cfg offset 0x%x", offset);
  }

  private boolean selected(String field) {
    if (queueSelect >= queueCount) {
      counters.guestError(
          PciCounter.QUEUE_SELECT_OUT_OF_RANGE,
          "wrote %s with queue_select %d (device has %d queues): ignored",
          field,
          queueSelect,
          queueCount);
      return false;
    }
    return true;
  }

  private boolean configurable(String field) {
    if (!selected(field)) {
      return false;
    }
    if (queueEnabled[queueSelect]) {
      counters.guestError(
          PciCounter.QUEUE_WRITE_WHILE_ENABLED,
          "wrote %s of enabled queue %d: ignored",
          field,
          queueSelect);
      return false;
    }
    return true;
  }

  private void writeDriverFeatures(long bits) {
    if ((status.get() & STATUS_FEATURES_OK) != 0) {
      counters.guestError(
          PciCounter.FEATURES_AFTER_FEATURES_OK,
          "wrote driver_feature 0x%x after FEATURES_OK: ignored",
          bits);
      return;
    }
    if (driverFeatureSelect == 0) {
      driverFeatures = (driverFeatures & ~0xFFFF_FFFFL) | bits;
    } else if (driverFeatureSelect == 1) {
      driverFeatures = (driverFeatures & 0xFFFF_FFFFL) | (bits << 32);
    } else {
      counters.guestError(
          PciCounter.FEATURE_SELECT_OUT_OF_RANGE,
          "wrote driver_feature 0x%x with driver_feature_select %d (expected: 0 or 1): ignored",
          bits,
          driverFeatureSelect);
    }
  }

  private void writeQueueSize(int size) {
    if (!configurable("queue_size")) {
      return;
    }
    boolean packed = VirtioFeatures.has(negotiated, VirtioFeatures.RING_PACKED);
    boolean ok = size != 0 && size <= maxQueueSize && (packed || Integer.bitCount(size) == 1);
    if (!ok) {
      counters.guestError(
          PciCounter.QUEUE_SIZE_INVALID,
          "wrote queue_size %d for queue %d (expected: power of two <= %d): ignored",
          size,
          queueSelect,
          maxQueueSize);
      return;
    }
    queueSize[queueSelect] = size;
  }

  private void writeQueueAddress(int offset, int size, long value) {
    int field = offset & ~7;
    String name =
        field == QUEUE_DESC
            ? "queue_desc"
            : field == QUEUE_DRIVER ? "queue_driver" : "queue_device";
    if (!configurable(name)) {
      return;
    }
    long[] regs = field == QUEUE_DESC ? descAddr : field == QUEUE_DRIVER ? driverAddr : deviceAddr;
    long old = regs[queueSelect];
    long updated;
    if (size == 8) {
      updated = value;
    } else if ((offset & 4) == 0) {
      updated = (old & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
    } else {
      updated = (old & 0xFFFF_FFFFL) | (value << 32);
    }
    regs[queueSelect] = updated;
  }

  // ================================================================ status

  private void writeStatus(int value) {
    if (value == 0) {
      reset();
      return;
    }
    int cur = status.get();
    // NEEDS_RESET belongs to the device: a driver writing back what it read must not count.
    int cleared = cur & ~value & ~STATUS_NEEDS_RESET;
    if (cleared != 0) {
      counters.guestError(
          PciCounter.STATUS_BITS_CLEARED,
          "wrote device_status 0x%x over 0x%x, clearing bits 0x%x without a reset: kept them",
          value,
          cur,
          cleared);
    }
    int requested = value & ~cur & ~STATUS_NEEDS_RESET;
    int unsupported = requested & ~DRIVER_STATUS_BITS;
    if (unsupported != 0) {
      counters.guestError(
          PciCounter.STATUS_UNSUPPORTED_BIT,
          "set device_status bits 0x%x the device does not support (SUSPEND/reserved): ignored",
          unsupported);
    }
    int add = requested & DRIVER_STATUS_BITS;
    if ((add & STATUS_FEATURES_OK) != 0 && !acceptFeatures()) {
      add &= ~STATUS_FEATURES_OK;
    }
    if ((add & STATUS_DRIVER_OK) != 0 && ((cur | add) & STATUS_FEATURES_OK) == 0) {
      counters.guestError(
          PciCounter.DRIVER_OK_WITHOUT_FEATURES_OK,
          "set DRIVER_OK without FEATURES_OK (status 0x%x)",
          cur);
      final int withoutDriverOk = add & ~STATUS_DRIVER_OK;
      status.getAndUpdate(s -> s | withoutDriverOk);
      needsReset("driver set DRIVER_OK without FEATURES_OK");
      return;
    }
    final int toSet = add;
    status.getAndUpdate(s -> s | toSet);
    if ((toSet & STATUS_DRIVER_OK) != 0) {
      maybeActivate();
    }
  }

  /** FEATURES_OK validation (virtio 1.2 §3.1.1, §6): subset, VERSION_1, device rules. */
  private boolean acceptFeatures() {
    long wanted = driverFeatures;
    String refusal;
    long extra = wanted & ~offered;
    if (extra != 0) {
      refusal = String.format("accepted features 0x%x the device did not offer", extra);
    } else if (!VirtioFeatures.has(wanted, VirtioFeatures.VERSION_1)) {
      refusal = "did not accept VERSION_1 (the device is modern-only)";
    } else {
      refusal = callDevice(() -> device.validateFeatures(wanted), "validateFeatures");
    }
    if (refusal != null) {
      counters.guestError(
          PciCounter.FEATURES_REJECTED,
          "features 0x%x refused, FEATURES_OK stays clear: %s",
          wanted,
          refusal);
      return false;
    }
    negotiated = wanted;
    return true;
  }

  private interface DeviceCall<T> {
    T call();
  }

  private <T> T callDevice(DeviceCall<T> call, String what) {
    try {
      return call.call();
    } catch (RuntimeException e) {
      deviceFault(what, e);
      return null;
    }
  }

  /** A device method threw: a device bug. Logged, counted, and the driver is told to reset. */
  void deviceFault(String what, RuntimeException e) {
    counters.event(PciCounter.DEVICE_EXCEPTION);
    LOG.error("virtio device threw from {}; setting DEVICE_NEEDS_RESET", what, e);
    needsReset("device failure in " + what + ": " + e);
  }

  // ================================================================ NEEDS_RESET

  /** Sets DEVICE_NEEDS_RESET for the current session and tells the driver if it is live. */
  void needsReset(String reason) {
    needsReset(irq.epoch(), reason);
  }

  private void needsReset(int epoch, String reason) {
    irq.runIfCurrent(
        epoch,
        () -> {
          int before = status.getAndUpdate(s -> s | STATUS_NEEDS_RESET);
          if ((before & STATUS_NEEDS_RESET) == 0) {
            counters.guestError(PciCounter.NEEDS_RESET, "made the device need reset: %s", reason);
            needsResetReason = reason;
            if ((before & STATUS_DRIVER_OK) != 0) {
              irq.configEventLocked();
            }
          }
        });
  }

  // ================================================================ queues

  private void writeQueueEnable(int value) {
    if (!selected("queue_enable")) {
      return;
    }
    int q = queueSelect;
    if (value != 1) {
      counters.guestError(
          PciCounter.QUEUE_ENABLE_INVALID_VALUE,
          "wrote queue_enable %d for queue %d (expected: 1): ignored",
          value,
          q);
      return;
    }
    if (queueEnabled[q]) {
      return; // enabling twice is harmless
    }
    int st = status.get();
    boolean live = (st & STATUS_DRIVER_OK) != 0;
    if (live && !(queueWasReset[q] && restart != null && session != null)) {
      counters.guestError(
          PciCounter.QUEUE_ENABLE_AFTER_DRIVER_OK,
          "enabled queue %d after DRIVER_OK without a queue reset: ignored",
          q);
      return;
    }
    String bad = checkRings(q, st);
    if (bad != null) {
      counters.guestError(PciCounter.QUEUE_ENABLE_BAD_RINGS, "enabled queue %d: %s", q, bad);
      needsReset("queue " + q + ": " + bad);
      return;
    }
    queueEnabled[q] = true;
    if (live) {
      queueWasReset[q] = false;
      QueueSetup setup = setup(q);
      try {
        restart.restartQueue(setup);
        queueLive.set(q, 1);
      } catch (RuntimeException e) {
        deviceFault("restartQueue", e);
      }
    }
  }

  /** Why queue {@code q}'s rings cannot be used, or null (virtio 1.2 §2.7, §4.1.4.3.2). */
  private String checkRings(int q, int st) {
    if ((st & STATUS_FEATURES_OK) == 0) {
      return "enabled before FEATURES_OK (ring sizes depend on the negotiated features)";
    }
    GuestMemory mem = memory;
    if (mem == null) {
      return "the VMM has not given the device any guest memory";
    }
    long n = queueSize[q];
    boolean eventIdx = VirtioFeatures.has(negotiated, VirtioFeatures.RING_EVENT_IDX);
    long descLen = 16 * n;
    long availLen;
    long usedLen;
    int availAlign;
    int usedAlign;
    if (VirtioFeatures.has(negotiated, VirtioFeatures.RING_PACKED)) {
      availLen = 4;
      usedLen = 4;
      availAlign = 4;
      usedAlign = 4;
    } else {
      availLen = 4 + 2 * n + (eventIdx ? 2 : 0);
      usedLen = 4 + 8 * n + (eventIdx ? 2 : 0);
      availAlign = 2;
      usedAlign = 4;
    }
    String r = checkArea(mem, "descriptor table", descAddr[q], descLen, 16, false);
    if (r == null) {
      r = checkArea(mem, "driver area", driverAddr[q], availLen, availAlign, false);
    }
    if (r == null) {
      r = checkArea(mem, "device area", deviceAddr[q], usedLen, usedAlign, true);
    }
    return r;
  }

  private static String checkArea(
      GuestMemory mem, String what, long addr, long len, int align, boolean write) {
    if ((addr & (align - 1)) != 0) {
      return String.format("%s at 0x%x (expected: %d-byte aligned)", what, addr, align);
    }
    int region = mem.regionIndex(addr, len);
    if (region < 0) {
      return String.format(
          "%s 0x%x+%d is not inside guest RAM (%s)", what, addr, len, mem.describeRanges());
    }
    if (write && !mem.region(region).isWritable()) {
      return String.format("%s 0x%x+%d lies in read-only memory", what, addr, len);
    }
    return null;
  }

  private void writeQueueReset(int value) {
    if (!selected("queue_reset")) {
      return;
    }
    if (!VirtioFeatures.has(negotiated, VirtioFeatures.RING_RESET) || value != 1) {
      counters.guestError(
          PciCounter.QUEUE_RESET_INVALID,
          "wrote queue_reset %d (RING_RESET negotiated: %b): ignored",
          value,
          VirtioFeatures.has(negotiated, VirtioFeatures.RING_RESET));
      return;
    }
    int q = queueSelect;
    boolean wasLive = queueLive.getAndSet(q, 0) == 1;
    if (wasLive) {
      try {
        device.stopQueue(q);
      } catch (RuntimeException e) {
        deviceFault("stopQueue", e);
      }
    }
    clearQueue(q);
    queueWasReset[q] = true;
  }

  private QueueSetup setup(int q) {
    return new QueueSetup(q, queueSize[q], descAddr[q], driverAddr[q], deviceAddr[q], 0, 0);
  }

  // ================================================================ activation, notify, reset

  void busMasterChanged(boolean on) {
    boolean was = busMaster;
    busMaster = on;
    if (on && !was) {
      if (session == null) {
        maybeActivate();
      } else {
        kickLiveQueues(); // catch up on kicks dropped while bus mastering was off
      }
    }
  }

  private void maybeActivate() {
    int st = status.get();
    if (session != null
        || (st & STATUS_DRIVER_OK) == 0
        || (st & (STATUS_NEEDS_RESET | STATUS_FAILED)) != 0
        || !busMaster) {
      return;
    }
    GuestMemory mem = memory;
    if (mem == null) {
      needsReset("DRIVER_OK but the VMM has not given the device any guest memory");
      return;
    }
    List<QueueSetup> setups = new ArrayList<>();
    for (int q = 0; q < queueCount; q++) {
      if (queueEnabled[q]) {
        setups.add(setup(q));
      }
    }
    Session s = new Session(irq.epoch());
    session = s;
    try {
      device.activate(negotiated, mem, List.copyOf(setups), s);
    } catch (RuntimeException e) {
      deviceFault("activate", e);
      return;
    }
    counters.event(PciCounter.ACTIVATIONS);
    for (QueueSetup setup : setups) {
      queueLive.set(setup.index(), 1);
    }
    // Buffers made available before DRIVER_OK (some drivers kick early) are picked up now;
    // a spurious notification is always legal.
    kickLiveQueues();
  }

  private void kickLiveQueues() {
    for (int q = 0; q < queueCount; q++) {
      if (queueLive.get(q) == 1) {
        notifyQueue(q);
      }
    }
  }

  /** The doorbell of {@code queue} rang. Lock-free; never throws. */
  void notifyQueue(int queue) {
    if (queue < 0 || queue >= queueCount) {
      counters.guestError(
          PciCounter.NOTIFY_BAD_ACCESS, "notified queue %d (device has %d)", queue, queueCount);
      return;
    }
    if ((status.get() & (STATUS_NEEDS_RESET | STATUS_FAILED)) != 0) {
      counters.guestError(
          PciCounter.NOTIFY_WHILE_BROKEN,
          "notified queue %d while the device needs reset or the driver failed",
          queue);
      return;
    }
    if (queueLive.get(queue) == 0) {
      counters.guestError(
          PciCounter.NOTIFY_NOT_LIVE,
          "notified queue %d which is not enabled or before DRIVER_OK",
          queue);
      return;
    }
    if (!busMaster) {
      counters.guestError(
          PciCounter.NOTIFY_BUS_MASTER_OFF,
          "notified queue %d with bus mastering off (device may not touch memory)",
          queue);
      return;
    }
    counters.event(PciCounter.NOTIFY_DELIVERED);
    try {
      device.queueNotified(queue);
    } catch (RuntimeException e) {
      deviceFault("queueNotified", e);
    }
  }

  /**
   * Device reset (device_status 0, or a function reset): the old session can no longer raise
   * interrupts, the device drops or drains its work, then every register returns to its initial
   * value.
   */
  void reset() {
    session = null;
    for (int q = 0; q < queueCount; q++) {
      queueLive.set(q, 0);
    }
    irq.newEpoch();
    try {
      device.reset();
    } catch (RuntimeException e) {
      counters.event(PciCounter.DEVICE_EXCEPTION);
      LOG.error("virtio device threw from reset", e);
    }
    status.set(0);
    deviceFeatureSelect = 0;
    driverFeatureSelect = 0;
    driverFeatures = 0;
    negotiated = 0;
    queueSelect = 0;
    needsResetReason = null;
    configDirty.set(false);
    clearQueues();
    irq.virtioReset();
    counters.event(PciCounter.RESETS);
  }

  /** The notifier one activation hands the device; dead once the session is reset. */
  private final class Session implements DeviceNotifier {
    private final int epoch;

    Session(int epoch) {
      this.epoch = epoch;
    }

    @Override
    public void usedBuffers(int queue) {
      if (queue < 0 || queue >= queueCount) {
        counters.event(PciCounter.DEVICE_BAD_QUEUE_INDEX);
        if (Integer.bitCount((int) counters.get(PciCounter.DEVICE_BAD_QUEUE_INDEX)) == 1) {
          LOG.error("virtio device signalled used buffers on queue {} of {}", queue, queueCount);
        }
        return;
      }
      irq.queueEvent(epoch, queue);
    }

    @Override
    public void configChanged() {
      irq.runIfCurrent(
          epoch,
          () -> {
            configDirty.set(true);
            counters.event(PciCounter.CONFIG_CHANGES);
            irq.configEventLocked();
          });
    }

    @Override
    public void needsReset(String reason) {
      CommonConfigRegisters.this.needsReset(epoch, "device: " + reason);
    }
  }
}
