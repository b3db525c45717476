package dev.vdisk.virtio.blk;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.queue.QueueSetupException;
import dev.vdisk.virtio.queue.SplitQueue;
import dev.vdisk.virtio.queue.SplitRing;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import net.openhft.chronicle.bytes.BytesStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-blk device (virtio device id 2), independent of its transport: the in-process PCI
 * transport, vhost-user and QEMU's multi-process proxy all drive it through {@link VirtioDevice}.
 *
 * <p>Built with {@link #builder(BlockDevice)}; the settings are validated at {@code build()} and
 * immutable afterwards. Offered features follow the {@link Profile} and the backend's capabilities
 * (RO for read-only backends, DISCARD / WRITE_ZEROES / SECURE_ERASE only when the backend has
 * them).
 *
 * <p>Requests: IN, OUT, FLUSH (and legacy FLUSH_OUT), GET_ID, GET_LIFETIME, DISCARD, WRITE_ZEROES
 * (UNMAP honoured), SECURE_ERASE; anything else is UNSUPP. Every request is validated whole before
 * any I/O; every failure maps to IOERR or UNSUPP in {@link BlkError}, with a counter per reason.
 * Statistics: {@link #stats()}.
 *
 * <p>Threading: {@link #queueNotified} may be called from any thread; each queue is processed by
 * one thread at a time and different queues run concurrently. Asynchronous backends ({@link
 * AsyncBlockDevice}) complete on their own threads, in any order. {@link #reset} may come at any
 * time: it waits for the processing threads, gives in-flight requests a bounded time (see {@link
 * Builder#resetDrainTimeout}) and drops completions that arrive later, so nothing is written into
 * rings of a finished session. Guest mistakes never throw out of this class.
 */
public final class VirtioBlkDevice implements VirtioDevice {
  private static final Logger LOG = LoggerFactory.getLogger(VirtioBlkDevice.class);

  /** Virtio device id of a block device. */
  public static final int DEVICE_ID = 2;

  private final BlkSettings settings;
  private final BlkConfigSpace config;
  private final BlkQueueStats[] queueStats;
  private final Object lifecycle = new Object();

  private volatile Session session;
  private volatile Session retiring;
  private volatile long negotiated;
  private volatile boolean writeThrough;

  private final AtomicLong configChanges = new AtomicLong();
  private final AtomicLong ignoredNotifications = new AtomicLong();
  private final AtomicLong lateCompletions = new AtomicLong();
  private final AtomicLong activationFailures = new AtomicLong();
  private final AtomicLong abandonedOnReset = new AtomicLong();
  private final AtomicLong internalErrors = new AtomicLong();
  private final AtomicLong sessions = new AtomicLong();

  private VirtioBlkDevice(BlkSettings settings) {
    this.settings = settings;
    this.config = new BlkConfigSpace(settings);
    this.queueStats = new BlkQueueStats[settings.queues];
    for (int i = 0; i < queueStats.length; i++) {
      queueStats[i] = new BlkQueueStats(i);
    }
    settings.backend.addSizeListener((dev, newSize) -> onResize(newSize));
  }

  /** Starts configuring a device over {@code backend}. */
  public static Builder builder(BlockDevice backend) {
    return new Builder(backend);
  }

  /** One driver session: from activate to reset. */
  private static final class Session {
    final long negotiated;
    final DeviceNotifier notifier;
    final GuestMemory memory;
    final BytesStore<?, ?>[] stores;
    final AtomicReferenceArray<BlkQueue> queues;
    final boolean wceNegotiated;
    final boolean flushNegotiated;

    Session(long negotiated, DeviceNotifier notifier, GuestMemory memory, int queueCount) {
      this.negotiated = negotiated;
      this.notifier = notifier;
      this.memory = memory;
      this.stores = new BytesStore<?, ?>[memory.regionCount()];
      for (int i = 0; i < stores.length; i++) {
        stores[i] = memory.region(i).store();
      }
      this.queues = new AtomicReferenceArray<>(queueCount);
      this.wceNegotiated = VirtioFeatures.has(negotiated, BlkFeatures.CONFIG_WCE);
      this.flushNegotiated = VirtioFeatures.has(negotiated, BlkFeatures.FLUSH);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // VirtioDevice

  @Override
  public int deviceId() {
    return DEVICE_ID;
  }

  @Override
  public long deviceFeatures() {
    return settings.offeredFeatures;
  }

  @Override
  public int queueCount() {
    return settings.queues;
  }

  @Override
  public int maxQueueSize() {
    return settings.queueSize;
  }

  @Override
  public int configSize() {
    return BlkConfigLayout.SIZE;
  }

  @Override
  public long readConfig(int offset, int size) {
    return config.read(offset, size);
  }

  @Override
  public void writeConfig(int offset, int size, long value) {
    if (config.write(offset, size, value, session == null || session.wceNegotiated)) {
      updateWriteThrough();
    }
  }

  @Override
  public String validateFeatures(long driverFeatures) {
    long unknown = driverFeatures & ~settings.offeredFeatures;
    if (unknown != 0) {
      return String.format(
          "driver accepted features 0x%x the device did not offer (offered 0x%x)",
          unknown, settings.offeredFeatures);
    }
    if (!VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1)) {
      return "driver did not accept VERSION_1 (this device is modern-only)";
    }
    // Every subset of the offered set is usable: CONFIG_WCE without FLUSH starts writethrough.
    return null;
  }

  @Override
  public void activate(
      long negotiatedFeatures,
      GuestMemory memory,
      List<QueueSetup> queues,
      DeviceNotifier notifier) {
    Objects.requireNonNull(memory, "memory");
    Objects.requireNonNull(queues, "queues");
    Objects.requireNonNull(notifier, "notifier");
    Session s;
    synchronized (lifecycle) {
      if (session != null) {
        LOG.warn("activate without reset: resetting the previous session first");
        resetLocked();
      }
      long features = negotiatedFeatures & settings.offeredFeatures;
      s = new Session(features, notifier, memory, settings.queues);
      if (s.wceNegotiated && !s.flushNegotiated) {
        config.setWriteback(false); // virtio 1.2: CONFIG_WCE without FLUSH starts writethrough
      }
      negotiated = features;
      session = s;
      updateWriteThrough();
      sessions.incrementAndGet();
      for (QueueSetup q : queues) {
        startQueueLocked(s, q);
      }
    }
    // Kicks that came before DRIVER_OK were ignored: pick up whatever is already available.
    for (int i = 0; i < settings.queues; i++) {
      BlkQueue q = s.queues.get(i);
      if (q != null) {
        safely(q, false);
      }
    }
  }

  private boolean startQueueLocked(Session s, QueueSetup q) {
    int i = q.index();
    boolean mq = VirtioFeatures.has(s.negotiated, BlkFeatures.MQ);
    if (i < 0 || i >= settings.queues || (i > 0 && !mq)) {
      activationFailures.incrementAndGet();
      LOG.warn("driver enabled queue {} (device has {}, MQ {})", i, settings.queues, mq);
      return false;
    }
    if (s.queues.get(i) != null) {
      activationFailures.incrementAndGet();
      return false;
    }
    try {
      SplitQueue sq =
          SplitQueue.activate(
              s.memory,
              q,
              s.negotiated,
              settings.queueSize,
              settings.maxChainDescriptors,
              s.notifier);
      s.queues.set(i, new BlkQueue(settings, this, sq, queueStats[i], s.negotiated, s.stores));
      return true;
    } catch (QueueSetupException e) {
      activationFailures.incrementAndGet();
      LOG.warn("guest gave an unusable queue: {}", e.getMessage());
      s.notifier.needsReset(e.getMessage());
      return false;
    }
  }

  @Override
  public void queueNotified(int queue) {
    Session s = session;
    if (s == null || queue < 0 || queue >= settings.queues) {
      ignoredNotifications.incrementAndGet();
      return;
    }
    BlkQueue q = s.queues.get(queue);
    if (q == null) {
      ignoredNotifications.incrementAndGet();
      return;
    }
    safely(q, true);
  }

  /** Runs a queue; a bug of ours (never a guest mistake) stops the device instead of the VMM. */
  private void safely(BlkQueue q, boolean kick) {
    try {
      if (kick) {
        q.kick();
      } else {
        q.poll();
      }
    } catch (RuntimeException e) {
      internalErrors.incrementAndGet();
      LOG.error("virtio-blk internal error on queue {}", q.queue().index(), e);
      Session s = session;
      if (s != null) {
        s.notifier.needsReset("virtio-blk internal error: " + e);
      }
    }
  }

  @Override
  public int stopQueue(int queue) {
    synchronized (lifecycle) {
      Session s = session;
      if (s == null || queue < 0 || queue >= settings.queues) {
        return 0;
      }
      BlkQueue q = s.queues.getAndSet(queue, null);
      if (q == null) {
        return 0;
      }
      stopLocked(q);
      return q.queue().nextAvail();
    }
  }

  /**
   * Starts one queue inside the current session (vhost-user restarting a ring after {@link
   * #stopQueue}, or virtio-pci re-enabling a queue after RING_RESET). Returns false, with a counter
   * and DEVICE_NEEDS_RESET for unusable rings, when the queue cannot start.
   */
  public boolean startQueue(QueueSetup setup) {
    Session s;
    synchronized (lifecycle) {
      s = session;
      if (s == null || !startQueueLocked(s, setup)) {
        return false;
      }
    }
    safely(s.queues.get(setup.index()), false);
    return true;
  }

  /**
   * RING_RESET of one queue: stops it (in-flight requests complete or are abandoned as on a device
   * reset) and forgets its state. The transport then reads 0 from queue_enable and may set the
   * queue up again with {@link #startQueue}.
   */
  public void resetQueue(int queue) {
    stopQueue(queue);
  }

  private void stopLocked(BlkQueue q) {
    int abandoned = q.shutdown(settings.resetDrainNanos);
    if (abandoned > 0) {
      abandonedOnReset.addAndGet(abandoned);
      LOG.warn(
          "queue {}: {} requests still in flight after {} ms; their completions will be dropped",
          q.queue().index(),
          abandoned,
          settings.resetDrainNanos / 1_000_000);
    }
    q.stats().retire(q.queue());
    q.markRetired();
  }

  @Override
  public void reset() {
    synchronized (lifecycle) {
      resetLocked();
    }
  }

  private void resetLocked() {
    Session s = session;
    if (s == null) {
      return;
    }
    retiring = s;
    session = null;
    for (int i = 0; i < settings.queues; i++) {
      BlkQueue q = s.queues.getAndSet(i, null);
      if (q != null) {
        stopLocked(q);
      }
    }
    negotiated = 0;
    config.setWriteback(settings.writebackDefault);
    updateWriteThrough();
    retiring = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals used by queues

  long capacitySectors() {
    return config.capacitySectors();
  }

  boolean writeThrough() {
    return writeThrough;
  }

  void lateCompletion() {
    lateCompletions.incrementAndGet();
  }

  /**
   * Writes are stable on completion when CONFIG_WCE is negotiated and writeback is 0, or when
   * neither CONFIG_WCE nor FLUSH was negotiated (virtio 1.2 durability rules; vdisk spec 10.4).
   */
  private void updateWriteThrough() {
    Session s = session;
    if (s == null) {
      writeThrough = !config.writeback();
    } else if (s.wceNegotiated) {
      writeThrough = !config.writeback();
    } else {
      writeThrough = !s.flushNegotiated;
    }
  }

  private void onResize(long newSize) {
    config.setCapacityBytes(newSize);
    configChanges.incrementAndGet();
    Session s = session;
    if (s != null) {
      s.notifier.configChanged();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Statistics

  /** Features negotiated in the current session (0 when not active). */
  public long negotiatedFeatures() {
    return negotiated;
  }

  /**
   * Times the backend's capacity changed since the device was built, with or without a driver (a
   * config-change notification goes out only while a driver session is active, so the transport's
   * and aerovblk's counts equal this one when every resize happened while the driver ran).
   */
  public long configChangeCount() {
    return configChanges.get();
  }

  /** True between activate and reset. */
  public boolean isActive() {
    return session != null;
  }

  /**
   * A snapshot of every counter. The counters themselves are updated without locks or allocation;
   * this method allocates the snapshot.
   */
  public BlkDeviceStats stats() {
    Session s = session;
    if (s == null) {
      s = retiring;
    }
    List<BlkQueueStatsSnapshot> qs = new ArrayList<>(settings.queues);
    for (int i = 0; i < settings.queues; i++) {
      BlkQueue live = s == null ? null : s.queues.get(i);
      qs.add(BlkQueueStatsSnapshot.of(queueStats[i], live, settings.queueSize));
    }
    return new BlkDeviceStats(
        settings.offeredFeatures,
        negotiated,
        session != null,
        config.capacitySectors(),
        config.writeback(),
        configChanges.get(),
        sessions.get(),
        ignoredNotifications.get(),
        lateCompletions.get(),
        activationFailures.get(),
        abandonedOnReset.get(),
        internalErrors.get(),
        config.ignoredWrites(),
        qs);
  }

  /** The profile this device was built with. */
  public Profile profile() {
    return settings.profile;
  }

  /** The serial GET_ID returns (without NUL padding). */
  public String serial() {
    int n = 0;
    while (n < settings.serial.length && settings.serial[n] != 0) {
      n++;
    }
    return new String(settings.serial, 0, n, StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return "VirtioBlkDevice{"
        + settings.profile
        + ", "
        + settings.backend
        + ", queues="
        + settings.queues
        + "x"
        + settings.queueSize
        + ", features=0x"
        + Long.toHexString(settings.offeredFeatures)
        + "}";
  }

  // ---------------------------------------------------------------------------------------------
  // Builder

  /**
   * Configures a {@link VirtioBlkDevice}. Every setting has a default from the {@link Profile};
   * {@link #build()} validates the combination and throws {@link IllegalArgumentException} naming
   * the bad value.
   */
  public static final class Builder {
    final BlockDevice backend;
    Profile profile = Profile.DEFAULT;
    private Integer queues;
    private Integer queueSize;
    private String serial;
    private Integer segMax;
    private Integer sizeMax;
    private Boolean enforceSegmentLimits;
    private Boolean discard;
    private Boolean writeZeroes;
    private Boolean secureErase;
    private Integer maxDiscardSegments;
    private Integer maxWriteZeroesSegments;
    private Integer maxSecureEraseSegments;
    private Long maxDiscardSectors;
    private Boolean writeback;
    private Boolean configWce;
    private Boolean eventIdx;
    private Boolean indirect;
    private Boolean ringReset;
    private Boolean geometry;
    private Boolean topology;
    byte[] lifetime;
    private Boolean asyncBackend;
    int notifyBudget = 256;
    Executor continuationExecutor;
    Duration resetDrainTimeout = Duration.ofSeconds(10);
    private Integer maxChainDescriptors;

    // Resolved at build().
    int resolvedQueues;
    int resolvedQueueSize;
    byte[] resolvedSerial;
    int resolvedSegMax;
    int resolvedSizeMax;
    boolean resolvedEnforceLimits;
    long resolvedMaxDiscardSectors;
    int resolvedMaxDiscardSeg;
    int resolvedMaxWriteZeroesSeg;
    int resolvedMaxSecureEraseSeg;
    int resolvedDiscardAlignment;
    int resolvedCylinders;
    int resolvedHeads;
    int resolvedSectors;
    boolean resolvedWriteback;
    boolean resolvedAsync;
    int resolvedMaxChain;

    private Builder(BlockDevice backend) {
      this.backend = Objects.requireNonNull(backend, "backend");
    }

    public Builder profile(Profile profile) {
      this.profile = Objects.requireNonNull(profile, "profile");
      return this;
    }

    /** Number of request queues (MQ is offered when more than one). DEFAULT 1; AERO exactly 1. */
    public Builder queues(int queues) {
      this.queues = queues;
      return this;
    }

    /** Queue size: a power of two up to 32768. DEFAULT 256; AERO exactly 128. */
    public Builder queueSize(int queueSize) {
      this.queueSize = queueSize;
      return this;
    }

    /** Serial returned by GET_ID: printable ASCII, at most 20 bytes. Default "vdisk". */
    public Builder serial(String serial) {
      this.serial = Objects.requireNonNull(serial, "serial");
      return this;
    }

    /** seg_max: data segments per request. Default queue size - 2 (QEMU). */
    public Builder segMax(int segMax) {
      this.segMax = segMax;
      return this;
    }

    /** size_max in bytes (offers SIZE_MAX); 0 = not offered (default). */
    public Builder sizeMax(int sizeMax) {
      this.sizeMax = sizeMax;
      return this;
    }

    /**
     * Answer IOERR to requests beyond seg_max / size_max. DEFAULT off (Windows viostor ignores
     * seg_max and QEMU accepts it), AERO on (the contract requires it).
     */
    public Builder enforceSegmentLimits(boolean enforce) {
      this.enforceSegmentLimits = enforce;
      return this;
    }

    /** Offer DISCARD when the backend supports it. DEFAULT on. */
    public Builder discard(boolean enable) {
      this.discard = enable;
      return this;
    }

    /** Offer WRITE_ZEROES when the backend supports it. DEFAULT on. */
    public Builder writeZeroes(boolean enable) {
      this.writeZeroes = enable;
      return this;
    }

    /** Offer SECURE_ERASE when the backend supports it. Default off (QEMU does not offer it). */
    public Builder secureErase(boolean enable) {
      this.secureErase = enable;
      return this;
    }

    /** max_discard_seg (1..256). Default 1, as QEMU. */
    public Builder maxDiscardSegments(int n) {
      this.maxDiscardSegments = n;
      return this;
    }

    /** max_write_zeroes_seg (1..256). Default 1, as QEMU. */
    public Builder maxWriteZeroesSegments(int n) {
      this.maxWriteZeroesSegments = n;
      return this;
    }

    /** max_secure_erase_seg (1..256). Default 1. */
    public Builder maxSecureEraseSegments(int n) {
      this.maxSecureEraseSegments = n;
      return this;
    }

    /**
     * max_discard_sectors / max_write_zeroes_sectors / max_secure_erase_sectors. Default: the
     * backend's limit, at most 2^32 - 1 sectors.
     */
    public Builder maxDiscardSectors(long sectors) {
      this.maxDiscardSectors = sectors;
      return this;
    }

    /**
     * Cache mode the config's writeback field starts with (CONFIG_WCE lets the driver change it).
     * Default: writeback when the backend has a volatile cache, else writethrough.
     */
    public Builder writeback(boolean writeback) {
      this.writeback = writeback;
      return this;
    }

    /** Offer CONFIG_WCE. DEFAULT on. */
    public Builder configWce(boolean enable) {
      this.configWce = enable;
      return this;
    }

    /** Offer EVENT_IDX. DEFAULT on. */
    public Builder eventIdx(boolean enable) {
      this.eventIdx = enable;
      return this;
    }

    /** Offer INDIRECT_DESC. On in both profiles (aerovblk requires it). */
    public Builder indirectDescriptors(boolean enable) {
      this.indirect = enable;
      return this;
    }

    /**
     * Offer RING_RESET. Default off: only a transport that implements queue_reset (and calls {@link
     * VirtioBlkDevice#resetQueue}/{@link VirtioBlkDevice#startQueue}) may turn it on.
     */
    public Builder ringReset(boolean enable) {
      this.ringReset = enable;
      return this;
    }

    /** Offer GEOMETRY (derived from the backend). DEFAULT on. */
    public Builder geometry(boolean enable) {
      this.geometry = enable;
      return this;
    }

    /** Offer TOPOLOGY. DEFAULT on. */
    public Builder topology(boolean enable) {
      this.topology = enable;
      return this;
    }

    /**
     * Offers LIFETIME with fixed values (only for backends that really have wear data: the spec
     * forbids reporting reserved values). {@code preEolInfo} 0..3, the estimates 0..11.
     */
    public Builder lifetime(int preEolInfo, int lifetimeEstTypA, int lifetimeEstTypB) {
      if (preEolInfo < 0 || preEolInfo > 3) {
        throw new IllegalArgumentException("pre_eol_info " + preEolInfo + " (expected 0..3)");
      }
      checkEstimate("device_lifetime_est_typ_a", lifetimeEstTypA);
      checkEstimate("device_lifetime_est_typ_b", lifetimeEstTypB);
      this.lifetime =
          new byte[] {(byte) preEolInfo, 0, (byte) lifetimeEstTypA, 0, (byte) lifetimeEstTypB, 0};
      return this;
    }

    private static void checkEstimate(String name, int v) {
      if (v < 0 || v > 11) {
        throw new IllegalArgumentException(name + " " + v + " (expected 0..11)");
      }
    }

    /**
     * Use the backend's asynchronous interface when it implements {@link AsyncBlockDevice}. Default
     * on.
     */
    public Builder asyncBackend(boolean enable) {
      this.asyncBackend = enable;
      return this;
    }

    /**
     * Chains processed per {@code queueNotified} pass before the rest is handed to the continuation
     * executor (if any). Default 256.
     */
    public Builder notifyBudget(int chains) {
      this.notifyBudget = chains;
      return this;
    }

    /**
     * Where processing continues once a pass used its budget, so that one kick never holds the
     * calling (vCPU) thread for long. Without one (default) the calling thread keeps going until
     * the ring is empty.
     */
    public Builder continuationExecutor(Executor executor) {
      this.continuationExecutor = executor;
      return this;
    }

    /**
     * How long reset waits for in-flight requests before dropping their completions. Default 10 s.
     */
    public Builder resetDrainTimeout(Duration timeout) {
      this.resetDrainTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * Longest chain accepted (descriptors, indirect included); at least the queue size. Default
     * max(queue size, 1024) like QEMU, since Windows viostor can exceed seg_max.
     */
    public Builder maxChainDescriptors(int n) {
      this.maxChainDescriptors = n;
      return this;
    }

    /** Validates everything and builds the device. */
    public VirtioBlkDevice build() {
      boolean aero = profile == Profile.AERO;
      BlockCapabilities caps = backend.capabilities();
      if (backend.size() <= 0 || backend.size() % BlkConfigLayout.SECTOR_SIZE != 0) {
        throw new IllegalArgumentException(
            "backend size " + backend.size() + " (expected: > 0 and a multiple of 512)");
      }
      int bs = backend.blockSize();
      if (bs < 512 || Integer.bitCount(bs) != 1 || bs > 65536) {
        throw new IllegalArgumentException(
            "backend block size " + bs + " (expected: power of two 512..65536)");
      }
      if (aero) {
        forbid(queues != null && queues != 1, "queues " + queues, "exactly 1 queue");
        forbid(queueSize != null && queueSize != 128, "queueSize " + queueSize, "exactly 128");
        forbid(Boolean.TRUE.equals(eventIdx), "eventIdx(true)", "no EVENT_IDX");
        forbid(Boolean.FALSE.equals(indirect), "indirectDescriptors(false)", "INDIRECT_DESC");
        forbid(Boolean.TRUE.equals(configWce), "configWce(true)", "no CONFIG_WCE");
        forbid(Boolean.TRUE.equals(discard), "discard(true)", "no DISCARD");
        forbid(Boolean.TRUE.equals(writeZeroes), "writeZeroes(true)", "no WRITE_ZEROES");
        forbid(Boolean.TRUE.equals(secureErase), "secureErase(true)", "no SECURE_ERASE");
        forbid(Boolean.TRUE.equals(ringReset), "ringReset(true)", "no RING_RESET");
        forbid(Boolean.TRUE.equals(geometry), "geometry(true)", "geometry reading 0");
        forbid(Boolean.TRUE.equals(topology), "topology(true)", "no TOPOLOGY");
        forbid(sizeMax != null && sizeMax != 0, "sizeMax " + sizeMax, "size_max reading 0");
        forbid(lifetime != null, "lifetime(...)", "no LIFETIME");
        forbid(
            backend.isReadOnly(),
            "a read-only backend",
            "no RO bit (use Profile.DEFAULT, which offers RO)");
      }
      resolvedQueues = queues != null ? queues : 1;
      if (resolvedQueues < 1 || resolvedQueues > 1024) {
        throw new IllegalArgumentException("queues " + resolvedQueues + " (expected: 1..1024)");
      }
      resolvedQueueSize = queueSize != null ? queueSize : aero ? 128 : 256;
      if (!SplitRing.isValidSize(resolvedQueueSize) || resolvedQueueSize < 2) {
        throw new IllegalArgumentException(
            "queueSize " + resolvedQueueSize + " (expected: power of two 2..32768)");
      }
      resolvedMaxChain =
          maxChainDescriptors != null
              ? maxChainDescriptors
              : Math.max(resolvedQueueSize, SplitQueue.DEFAULT_MAX_CHAIN);
      if (resolvedMaxChain < resolvedQueueSize || resolvedMaxChain > 65536) {
        throw new IllegalArgumentException(
            "maxChainDescriptors "
                + resolvedMaxChain
                + " (expected: queue size "
                + resolvedQueueSize
                + "..65536)");
      }
      resolvedSegMax = segMax != null ? segMax : Math.max(1, resolvedQueueSize - 2);
      int segLimit = aero ? resolvedQueueSize - 2 : resolvedMaxChain - 2;
      if (resolvedSegMax < 1 || resolvedSegMax > segLimit) {
        throw new IllegalArgumentException(
            "segMax " + resolvedSegMax + " (expected: 1.." + segLimit + ")");
      }
      resolvedSizeMax = sizeMax != null ? sizeMax : 0;
      if (resolvedSizeMax != 0 && resolvedSizeMax < 4096) {
        throw new IllegalArgumentException(
            "sizeMax " + resolvedSizeMax + " (expected: 0 = not offered, or >= 4096)");
      }
      resolvedEnforceLimits = enforceSegmentLimits != null ? enforceSegmentLimits : aero;
      resolvedSerial = encodeSerial(serial != null ? serial : "vdisk");
      resolvedMaxDiscardSeg = segments("maxDiscardSegments", maxDiscardSegments);
      resolvedMaxWriteZeroesSeg = segments("maxWriteZeroesSegments", maxWriteZeroesSegments);
      resolvedMaxSecureEraseSeg = segments("maxSecureEraseSegments", maxSecureEraseSegments);
      long backendMax = caps.maxDiscardBytes() / BlkConfigLayout.SECTOR_SIZE;
      long defaultMax = Math.min(backendMax > 0 ? backendMax : 0xffff_ffffL, 0xffff_ffffL);
      resolvedMaxDiscardSectors = maxDiscardSectors != null ? maxDiscardSectors : defaultMax;
      if (resolvedMaxDiscardSectors < 1 || resolvedMaxDiscardSectors > 0xffff_ffffL) {
        throw new IllegalArgumentException(
            "maxDiscardSectors " + resolvedMaxDiscardSectors + " (expected: 1..2^32-1)");
      }
      // Round the limit down to whole logical blocks so a maximal range is still aligned.
      long blockSectors = bs / BlkConfigLayout.SECTOR_SIZE;
      resolvedMaxDiscardSectors =
          Math.max(blockSectors, resolvedMaxDiscardSectors / blockSectors * blockSectors);
      resolvedDiscardAlignment =
          (int) Math.max(blockSectors, caps.discardGranularity() / BlkConfigLayout.SECTOR_SIZE);
      dev.vdisk.api.Geometry g = backend.geometry();
      resolvedCylinders = (int) Math.min(0xffff, g.cylinders());
      resolvedHeads = Math.min(255, g.heads());
      resolvedSectors = Math.min(255, g.sectorsPerTrack());
      resolvedWriteback = writeback != null ? writeback : caps.flush();
      if (aero) {
        resolvedWriteback = false; // the field is not offered and reads 0
      }
      resolvedAsync = (asyncBackend == null || asyncBackend) && backend instanceof AsyncBlockDevice;
      if (notifyBudget < 1) {
        throw new IllegalArgumentException("notifyBudget " + notifyBudget + " (expected >= 1)");
      }
      if (resetDrainTimeout.isNegative()) {
        throw new IllegalArgumentException(
            "resetDrainTimeout " + resetDrainTimeout + " (expected >= 0)");
      }
      return new VirtioBlkDevice(new BlkSettings(this, features(aero, caps)));
    }

    private long features(boolean aero, BlockCapabilities caps) {
      long f = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
      f |= bit(VirtioFeatures.RING_INDIRECT_DESC);
      f |= bit(BlkFeatures.SEG_MAX) | bit(BlkFeatures.BLK_SIZE) | bit(BlkFeatures.FLUSH);
      if (aero) {
        return f;
      }
      boolean ro = backend.isReadOnly();
      if (Boolean.FALSE.equals(indirect)) {
        f &= ~bit(VirtioFeatures.RING_INDIRECT_DESC);
      }
      if (eventIdx == null || eventIdx) {
        f |= bit(VirtioFeatures.RING_EVENT_IDX);
      }
      if (Boolean.TRUE.equals(ringReset)) {
        f |= bit(VirtioFeatures.RING_RESET);
      }
      if (resolvedSizeMax > 0) {
        f |= bit(BlkFeatures.SIZE_MAX);
      }
      if (geometry == null || geometry) {
        f |= bit(BlkFeatures.GEOMETRY);
      }
      if (topology == null || topology) {
        f |= bit(BlkFeatures.TOPOLOGY);
      }
      if (configWce == null || configWce) {
        f |= bit(BlkFeatures.CONFIG_WCE);
      }
      if (resolvedQueues > 1) {
        f |= bit(BlkFeatures.MQ);
      }
      if (ro) {
        f |= bit(BlkFeatures.RO);
      }
      if ((discard == null || discard) && caps.discard() && !ro) {
        f |= bit(BlkFeatures.DISCARD);
      }
      if ((writeZeroes == null || writeZeroes) && caps.writeZeroes() && !ro) {
        f |= bit(BlkFeatures.WRITE_ZEROES);
      }
      if (Boolean.TRUE.equals(secureErase) && caps.secureErase() && !ro) {
        f |= bit(BlkFeatures.SECURE_ERASE);
      }
      if (lifetime != null) {
        f |= bit(BlkFeatures.LIFETIME);
      }
      return f;
    }

    private static long bit(int b) {
      return 1L << b;
    }

    private void forbid(boolean conflict, String setting, String contract) {
      if (conflict) {
        throw new IllegalArgumentException(
            setting
                + " conflicts with Profile.AERO (the aerovblk contract requires "
                + contract
                + ")");
      }
    }

    private static int segments(String name, Integer value) {
      int v = value != null ? value : 1;
      if (v < 1 || v > 256) {
        throw new IllegalArgumentException(name + " " + v + " (expected: 1..256)");
      }
      return v;
    }

    private static byte[] encodeSerial(String s) {
      byte[] b = s.getBytes(StandardCharsets.US_ASCII);
      if (b.length > BlkRequestType.ID_BYTES) {
        throw new IllegalArgumentException(
            "serial \"" + s + "\" is " + b.length + " bytes (expected: at most 20)");
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c < 0x20 || c > 0x7e) {
          throw new IllegalArgumentException(
              "serial \""
                  + s
                  + "\" has character 0x"
                  + Integer.toHexString(c)
                  + " at "
                  + i
                  + " (expected: printable ASCII)");
        }
      }
      byte[] out = new byte[BlkRequestType.ID_BYTES];
      System.arraycopy(b, 0, out, 0, b.length);
      return out;
    }
  }
}
