package dev.vdisk.vhost;

import static dev.vdisk.vhost.VhostUserRequest.*;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.vhost.VhostUserLayouts.DeviceConfig;
import dev.vdisk.vhost.VhostUserLayouts.Header;
import dev.vdisk.vhost.VhostUserLayouts.MemRegion;
import dev.vdisk.vhost.VhostUserLayouts.MemTable;
import dev.vdisk.vhost.VhostUserLayouts.SingleMemRegion;
import dev.vdisk.vhost.VhostUserLayouts.VringAddr;
import dev.vdisk.vhost.VhostUserLayouts.VringFile;
import dev.vdisk.vhost.VhostUserLayouts.VringState;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.vhost.natives.UnixSocket;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One front-end connection: the vhost-user state machine for a {@link VirtioDevice}.
 *
 * <h2>When the device runs</h2>
 *
 * A ring is <em>ready</em> when it has a size, addresses and a kick eventfd (SET_VRING_KICK
 * "starts" it, GET_VRING_BASE stops it), is enabled (SET_VRING_ENABLE, needed only once
 * VHOST_USER_F_PROTOCOL_FEATURES is negotiated), features and memory are set, and, when the STATUS
 * protocol feature is negotiated, the front end has set DRIVER_OK. The device is activated with all
 * ready rings at once, because {@link VirtioDevice#activate} takes the whole set: immediately on
 * DRIVER_OK, otherwise once the front end has been quiet for a moment after the last ring became
 * ready (QEMU configures rings one message at a time and has no "go" message without STATUS). A
 * ring that stops being ready is stopped at once with {@link VirtioDevice#stopQueue}, which yields
 * the index GET_VRING_BASE reports; when no ring is left the device is reset. A ring joining a
 * running device, and memory table changes, restart the device with every ready ring at the index
 * where it stopped.
 *
 * <h2>Errors</h2>
 *
 * Any malformed, unknown, unsupported or out-of-place message throws {@link
 * VhostUserProtocolException}; {@link #serve} then stops the device, unmaps memory, closes every
 * descriptor and returns the one-line reason. Nothing a front end sends can take the server down.
 */
final class VhostUserConnection {
  private static final Logger LOG = LoggerFactory.getLogger(VhostUserConnection.class);

  static final int STATUS_DRIVER_OK = 4;

  private final String name;
  private final UnixSocket socket;
  private final VirtioDevice device;
  private final VhostUserServer.Options options;
  private final VhostUserStats stats;
  private final MessageChannel channel;
  private final Vring[] vrings;
  private final KickWorker[] workers;
  private final MemoryTable memory;
  private final VhostNotifier notifier;
  private final long offeredFeatures;
  private final long offeredProtocolFeatures;
  private final Object backendLock = new Object();

  private long features;
  private boolean featuresSet;
  private long protocolFeatures;
  private int status;
  private boolean deviceActive;
  private boolean activationPending;
  private long messages;
  private UnixSocket backendChannel;

  VhostUserConnection(
      String name,
      UnixSocket socket,
      EventFd stop,
      VirtioDevice device,
      VhostUserServer.Options options,
      VhostUserStats stats) {
    this.name = name;
    this.socket = socket;
    this.device = device;
    this.options = options;
    this.stats = stats;
    this.channel = new MessageChannel(socket, stop);
    int queues = device.queueCount();
    this.vrings = new Vring[queues];
    for (int i = 0; i < queues; i++) {
      vrings[i] = new Vring(i);
    }
    this.workers = new KickWorker[queues];
    this.memory = new MemoryTable(options.maxMemSlots());
    this.notifier =
        new VhostNotifier(
            vrings,
            stats,
            this::sendConfigChange,
            reason -> LOG.warn("{}: device needs reset: {}", name, reason));
    this.offeredFeatures =
        device.deviceFeatures()
            | VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.F_PROTOCOL_FEATURES);
    this.offeredProtocolFeatures = options.protocolFeatures();
  }

  long messages() {
    return messages;
  }

  /** Serves until the front end leaves, breaks the protocol or the server stops; returns why. */
  String serve() {
    try {
      while (true) {
        int idle = activationPending ? options.activationDelayMillis() : -1;
        switch (channel.read(idle)) {
          case IDLE_TIMEOUT:
            reconcile(true);
            break;
          case END_OF_STREAM:
            return "front end closed the connection";
          case STOPPED:
            return "server stopping";
          case MESSAGE:
            messages++;
            stats.messages.increment();
            handle(channel.message());
            break;
          default:
            throw new IllegalStateException();
        }
      }
    } catch (VhostUserProtocolException e) {
      stats.protocolErrors.increment();
      nackQuietly();
      return "protocol error: " + e.getMessage();
    } catch (NativeException e) {
      return "socket error: " + e.getMessage();
    } catch (RuntimeException e) {
      LOG.error("{}: internal error", name, e);
      return "internal error: " + e;
    } finally {
      channel.message().closeFds();
      cleanup();
    }
  }

  private void handle(VhostUserMessage m) throws VhostUserProtocolException, NativeException {
    int request = m.request();
    if (LOG.isDebugEnabled()) {
      LOG.debug("{}: {} size {} fds {}", name, m.name(), m.size(), m.fdCount());
    }
    boolean replied;
    switch (request) {
      case GET_FEATURES -> replied = reply(m, 0, offeredFeatures);
      case SET_FEATURES -> replied = setFeatures(m);
      case SET_OWNER, RESET_OWNER -> replied = ownerMessage(m);
      case GET_PROTOCOL_FEATURES -> replied = reply(m, 0, offeredProtocolFeatures);
      case SET_PROTOCOL_FEATURES -> replied = setProtocolFeatures(m);
      case GET_QUEUE_NUM -> replied = reply(m, 0, device.queueCount());
      case GET_MAX_MEM_SLOTS -> {
        requireProtocolFeature(m, VhostUserProtocolFeatures.CONFIGURE_MEM_SLOTS);
        replied = reply(m, 0, options.maxMemSlots());
      }
      case SET_MEM_TABLE -> replied = setMemTable(m);
      case ADD_MEM_REG, REM_MEM_REG -> replied = changeMemRegion(m);
      case SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ENABLE -> replied = setVringState(m);
      case SET_VRING_ADDR -> replied = setVringAddr(m);
      case GET_VRING_BASE -> replied = getVringBase(m);
      case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> replied = setVringFile(m);
      case GET_CONFIG, SET_CONFIG -> replied = config(m);
      case SET_BACKEND_REQ_FD -> replied = setBackendReqFd(m);
      case RESET_DEVICE -> {
        requireProtocolFeature(m, VhostUserProtocolFeatures.RESET_DEVICE);
        expect(m, 0, 0);
        resetDevice();
        replied = false;
      }
      case SET_STATUS -> replied = setStatus(m);
      case GET_STATUS -> {
        requireProtocolFeature(m, VhostUserProtocolFeatures.STATUS);
        replied = reply(m, 0, status);
      }
      default -> throw unsupported(m);
    }
    m.closeFds();
    // Stop what must stop before acknowledging: an ack means the change took effect.
    reconcile(false);
    if (!replied && m.needsReply() && replyAck()) {
      channel.replyU64(0);
    }
  }

  // ---- features and ownership ----

  private boolean setFeatures(VhostUserMessage m) throws VhostUserProtocolException {
    expect(m, VhostUserLayouts.U64_SIZE, 0);
    long f = m.u64(0);
    long unknown = f & ~offeredFeatures;
    if (unknown != 0) {
      throw new VhostUserProtocolException(
          String.format(
              "SET_FEATURES 0x%x includes bits 0x%x vdisk never offered (offered: 0x%x)",
              f, unknown, offeredFeatures));
    }
    long virtio = virtioFeatures(f);
    if (!VirtioFeatures.has(virtio, VirtioFeatures.VERSION_1)) {
      throw new VhostUserProtocolException(
          String.format(
              "SET_FEATURES 0x%x lacks VERSION_1 (bit 32): vdisk serves modern virtio only", f));
    }
    String refusal = device.validateFeatures(virtio);
    if (refusal != null) {
      throw new VhostUserProtocolException(
          String.format("SET_FEATURES 0x%x refused by the device: %s", f, refusal));
    }
    if (deviceActive && f != features) {
      throw new VhostUserProtocolException(
          String.format(
              "SET_FEATURES 0x%x while rings run with 0x%x (stop them first)", f, features));
    }
    features = f;
    featuresSet = true;
    return false;
  }

  private static long virtioFeatures(long f) {
    return f & ~VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.F_PROTOCOL_FEATURES);
  }

  private boolean protocolFeaturesEnabled() {
    return (features & VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.F_PROTOCOL_FEATURES))
        != 0;
  }

  private boolean setProtocolFeatures(VhostUserMessage m) throws VhostUserProtocolException {
    expect(m, VhostUserLayouts.U64_SIZE, 0);
    long f = m.u64(0);
    if ((f & ~offeredProtocolFeatures) != 0) {
      throw new VhostUserProtocolException(
          String.format(
              "SET_PROTOCOL_FEATURES 0x%x includes bits 0x%x vdisk never offered (offered: 0x%x)",
              f, f & ~offeredProtocolFeatures, offeredProtocolFeatures));
    }
    protocolFeatures = f;
    return false;
  }

  private boolean ownerMessage(VhostUserMessage m) throws VhostUserProtocolException {
    expect(m, 0, 0);
    if (m.request() == RESET_OWNER) {
      // Deprecated; the protocol recommends treating it as "disable all rings" and nothing more.
      for (Vring v : vrings) {
        v.enabled = false;
      }
    }
    return false;
  }

  private void resetDevice() {
    stopDevice();
    for (Vring v : vrings) {
      v.reset();
    }
    features = 0;
    featuresSet = false;
    status = 0;
    activationPending = false;
  }

  private boolean setStatus(VhostUserMessage m) throws VhostUserProtocolException, NativeException {
    requireProtocolFeature(m, VhostUserProtocolFeatures.STATUS);
    expect(m, VhostUserLayouts.U64_SIZE, 0);
    long s = m.u64(0);
    if ((s & ~0xffL) != 0) {
      throw new VhostUserProtocolException(
          String.format("SET_STATUS 0x%x (expected: an 8-bit virtio device status)", s));
    }
    status = (int) s;
    if ((status & STATUS_DRIVER_OK) != 0) {
      reconcile(true);
    }
    return false;
  }

  // ---- memory ----

  private boolean setMemTable(VhostUserMessage m)
      throws VhostUserProtocolException, NativeException {
    if (m.size() < MemTable.REGIONS) {
      throw badSize(m, "at least " + MemTable.REGIONS);
    }
    int n = m.u32(MemTable.NREGIONS);
    if (n < 1 || n > MemTable.MAX_REGIONS) {
      throw new VhostUserProtocolException(
          "SET_MEM_TABLE with "
              + Integer.toUnsignedString(n)
              + " regions (expected: 1.."
              + MemTable.MAX_REGIONS
              + ")");
    }
    expect(m, MemTable.REGIONS + n * MemRegion.SIZE, n);
    List<MemoryTable.RegionSpec> specs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      specs.add(regionSpec(m, MemTable.REGIONS + i * MemRegion.SIZE));
    }
    boolean wasActive = stopDevice();
    memory.replace(specs, m.takeFds());
    LOG.debug("{}: memory table {}", name, memory.describe());
    if (wasActive) {
      reconcile(true);
    }
    return false;
  }

  private boolean changeMemRegion(VhostUserMessage m)
      throws VhostUserProtocolException, NativeException {
    requireProtocolFeature(m, VhostUserProtocolFeatures.CONFIGURE_MEM_SLOTS);
    boolean add = m.request() == ADD_MEM_REG;
    // QEMU before 7.1 sent a (useless) fd with REM_MEM_REG; the protocol now allows and ignores it.
    expect(m, SingleMemRegion.SIZE, add ? 1 : -1);
    MemoryTable.RegionSpec spec = regionSpec(m, SingleMemRegion.REGION);
    boolean wasActive = stopDevice();
    if (add) {
      memory.add(spec, m.takeFds()[0]);
    } else {
      memory.remove(spec);
    }
    if (wasActive && !memory.isEmpty()) {
      reconcile(true);
    }
    return false;
  }

  private static MemoryTable.RegionSpec regionSpec(VhostUserMessage m, int at) {
    return new MemoryTable.RegionSpec(
        m.u64(at + MemRegion.GUEST_PHYS_ADDR),
        m.u64(at + MemRegion.MEMORY_SIZE),
        m.u64(at + MemRegion.USERSPACE_ADDR),
        m.u64(at + MemRegion.MMAP_OFFSET));
  }

  // ---- vrings ----

  private Vring vring(VhostUserMessage m, long index) throws VhostUserProtocolException {
    if (index < 0 || index >= vrings.length) {
      throw new VhostUserProtocolException(
          m.name()
              + " for vring "
              + index
              + " (the device has "
              + vrings.length
              + " queue"
              + (vrings.length == 1 ? "" : "s")
              + ")");
    }
    return vrings[(int) index];
  }

  private boolean setVringState(VhostUserMessage m) throws VhostUserProtocolException {
    expect(m, VringState.SIZE, 0);
    Vring v = vring(m, Integer.toUnsignedLong(m.u32(VringState.INDEX)));
    long num = Integer.toUnsignedLong(m.u32(VringState.NUM));
    switch (m.request()) {
      case SET_VRING_NUM -> {
        requireStopped(m, v);
        int max = device.maxQueueSize();
        if (num < 1 || num > max || Long.bitCount(num) != 1) {
          throw new VhostUserProtocolException(
              "SET_VRING_NUM vring "
                  + v.index
                  + " size "
                  + num
                  + " (expected: a power of two, 1.."
                  + max
                  + ")");
        }
        v.num = (int) num;
      }
      case SET_VRING_BASE -> {
        requireStopped(m, v);
        if (num > 0xffff) {
          throw new VhostUserProtocolException(
              "SET_VRING_BASE vring "
                  + v.index
                  + " index "
                  + num
                  + " (expected: < 65536; packed rings are not offered)");
        }
        v.base = (int) num;
      }
      default -> {
        if (num > 1) {
          throw new VhostUserProtocolException(
              "SET_VRING_ENABLE vring " + v.index + " with " + num + " (expected: 0 or 1)");
        }
        v.enabled = num == 1;
      }
    }
    return false;
  }

  private boolean setVringAddr(VhostUserMessage m) throws VhostUserProtocolException {
    expect(m, VringAddr.SIZE, 0);
    Vring v = vring(m, Integer.toUnsignedLong(m.u32(VringAddr.INDEX)));
    requireStopped(m, v);
    int flags = m.u32(VringAddr.FLAGS);
    if (flags != 0) {
      throw new VhostUserProtocolException(
          "SET_VRING_ADDR vring "
              + v.index
              + " flags 0x"
              + Integer.toHexString(flags)
              + " (expected: 0; dirty logging is not offered)");
    }
    if (memory.isEmpty()) {
      throw new VhostUserProtocolException(
          "SET_VRING_ADDR vring " + v.index + " before any memory table");
    }
    long desc = memory.userToGuest(m.u64(VringAddr.DESC), "vring " + v.index + " descriptor table");
    long used = memory.userToGuest(m.u64(VringAddr.USED), "vring " + v.index + " used ring");
    long avail = memory.userToGuest(m.u64(VringAddr.AVAIL), "vring " + v.index + " available ring");
    v.descGpa = desc;
    v.usedGpa = used;
    v.availGpa = avail;
    v.addressed = true;
    return false;
  }

  private boolean getVringBase(VhostUserMessage m)
      throws VhostUserProtocolException, NativeException {
    expect(m, VringState.SIZE, 0);
    Vring v = vring(m, Integer.toUnsignedLong(m.u32(VringState.INDEX)));
    if (v.active) {
      stopRing(v);
    }
    v.closeKick();
    reconcile(false);
    ByteBuffer b = channel.beginReply(VringState.SIZE);
    b.putInt(Header.SIZE + VringState.INDEX, v.index);
    b.putInt(Header.SIZE + VringState.NUM, v.base);
    channel.send(VringState.SIZE);
    return true;
  }

  private boolean setVringFile(VhostUserMessage m)
      throws VhostUserProtocolException, NativeException {
    if (m.size() != VringFile.SIZE) {
      throw badSize(m, String.valueOf(VringFile.SIZE));
    }
    long u = m.u64(0);
    if ((u & ~(VringFile.INDEX_MASK | VringFile.NOFD_MASK)) != 0) {
      throw new VhostUserProtocolException(
          String.format("%s payload 0x%x has reserved bits set", m.name(), u));
    }
    Vring v = vring(m, u & VringFile.INDEX_MASK);
    boolean noFd = (u & VringFile.NOFD_MASK) != 0;
    expect(m, VringFile.SIZE, noFd ? 0 : 1);
    EventFd fd = noFd ? null : EventFd.adopt(m.takeFds()[0]);
    switch (m.request()) {
      case SET_VRING_KICK -> {
        if (fd == null) {
          throw new VhostUserProtocolException(
              "SET_VRING_KICK vring "
                  + v.index
                  + " without an eventfd (polling mode is not supported)");
        }
        boolean running = v.active;
        if (running) {
          workers[v.index].stop();
          workers[v.index] = null;
        }
        v.closeKick();
        v.kick = fd;
        if (running) {
          workers[v.index] = KickWorker.start(device, v.index, fd, stats, name);
        }
      }
      case SET_VRING_CALL -> v.call.replace(fd);
      default -> v.err.replace(fd);
    }
    return false;
  }

  private void requireStopped(VhostUserMessage m, Vring v) throws VhostUserProtocolException {
    if (v.active) {
      throw new VhostUserProtocolException(
          m.name()
              + " for vring "
              + v.index
              + " while it runs (stop it with GET_VRING_BASE first)");
    }
  }

  // ---- device configuration space ----

  private boolean config(VhostUserMessage m) throws VhostUserProtocolException, NativeException {
    expect(m, -1, 0);
    if (m.size() < DeviceConfig.PAYLOAD) {
      throw badSize(m, "at least " + DeviceConfig.PAYLOAD);
    }
    long offset = Integer.toUnsignedLong(m.u32(DeviceConfig.OFFSET));
    long size = Integer.toUnsignedLong(m.u32(DeviceConfig.SIZE_FIELD));
    if (size > DeviceConfig.MAX_CONFIG_SIZE || offset > DeviceConfig.MAX_CONFIG_SIZE - size) {
      throw new VhostUserProtocolException(
          m.name()
              + " offset "
              + offset
              + " size "
              + size
              + " (expected: offset + size <= "
              + DeviceConfig.MAX_CONFIG_SIZE
              + ")");
    }
    if (m.size() != DeviceConfig.PAYLOAD + size) {
      throw badSize(m, String.valueOf(DeviceConfig.PAYLOAD + size));
    }
    int off = (int) offset;
    int len = (int) size;
    if (m.request() == SET_CONFIG) {
      for (int i = 0; i < len; i++) {
        device.writeConfig(off + i, 1, m.u8(DeviceConfig.PAYLOAD + i));
      }
      return false;
    }
    ByteBuffer b = channel.beginReply(DeviceConfig.PAYLOAD + len);
    b.putInt(Header.SIZE + DeviceConfig.OFFSET, off);
    b.putInt(Header.SIZE + DeviceConfig.SIZE_FIELD, len);
    b.putInt(Header.SIZE + DeviceConfig.FLAGS, m.u32(DeviceConfig.FLAGS));
    for (int i = 0; i < len; i++) {
      b.put(Header.SIZE + DeviceConfig.PAYLOAD + i, (byte) device.readConfig(off + i, 1));
    }
    channel.send(DeviceConfig.PAYLOAD + len);
    return true;
  }

  // ---- back-end channel ----

  private boolean setBackendReqFd(VhostUserMessage m) throws VhostUserProtocolException {
    requireProtocolFeature(m, VhostUserProtocolFeatures.BACKEND_REQ);
    expect(m, 0, 1);
    UnixSocket s = UnixSocket.adopt(m.takeFds()[0], name + " back-end channel");
    synchronized (backendLock) {
      if (backendChannel != null) {
        backendChannel.close();
      }
      backendChannel = s;
    }
    return false;
  }

  /** Tells the front end to re-read the configuration space (CONFIG_CHANGE_MSG). */
  private void sendConfigChange() {
    synchronized (backendLock) {
      if (backendChannel == null) {
        LOG.info(
            "{}: device configuration changed, but the front end opened no back-end channel", name);
        return;
      }
      com.sun.jna.Memory msg = new com.sun.jna.Memory(Header.SIZE);
      msg.setInt(Header.REQUEST, VhostUserLayouts.BackendRequest.CONFIG_CHANGE_MSG);
      msg.setInt(Header.FLAGS, Header.VERSION);
      msg.setInt(Header.SIZE_FIELD, 0);
      try {
        backendChannel.send(msg, Header.SIZE);
      } catch (NativeException e) {
        LOG.warn("{}: cannot send CONFIG_CHANGE_MSG: {}", name, e.getMessage());
      }
    }
  }

  // ---- device lifecycle ----

  private boolean ready(Vring v) {
    return v.started()
        && v.addressed
        && v.num > 0
        && (v.enabled || !protocolFeaturesEnabled())
        && featuresSet
        && !memory.isEmpty()
        && (!hasProtocolFeature(VhostUserProtocolFeatures.STATUS)
            || (status & STATUS_DRIVER_OK) != 0);
  }

  /**
   * Brings the device in line with the rings: stops rings that are no longer ready (resetting the
   * device when none is left) and, when {@code allowGrow}, (re)starts it with every ready ring;
   * otherwise remembers that a start is pending.
   */
  private void reconcile(boolean allowGrow) throws VhostUserProtocolException, NativeException {
    for (Vring v : vrings) {
      if (v.active && !ready(v)) {
        stopRing(v);
      }
    }
    if (deviceActive && !anyActive()) {
      device.reset();
      deviceActive = false;
    }
    boolean grow = false;
    for (Vring v : vrings) {
      grow |= ready(v) && !v.active;
    }
    if (!grow) {
      activationPending = false;
      return;
    }
    if (!allowGrow) {
      activationPending = true;
      return;
    }
    stopDevice();
    activate();
    activationPending = false;
  }

  private boolean anyActive() {
    for (Vring v : vrings) {
      if (v.active) {
        return true;
      }
    }
    return false;
  }

  private void activate() throws VhostUserProtocolException, NativeException {
    GuestMemory gm = memory.guestMemory();
    long virtio = virtioFeatures(features);
    boolean eventIdx = VirtioFeatures.has(virtio, VirtioFeatures.RING_EVENT_IDX);
    List<QueueSetup> setups = new ArrayList<>();
    List<Vring> starting = new ArrayList<>();
    for (Vring v : vrings) {
      if (ready(v)) {
        checkRing(gm, v, eventIdx);
        setups.add(
            new QueueSetup(v.index, v.num, v.descGpa, v.availGpa, v.usedGpa, v.base, v.base));
        starting.add(v);
      }
    }
    device.activate(virtio, gm, setups, notifier);
    deviceActive = true;
    stats.activations.increment();
    for (Vring v : starting) {
      v.active = true;
      workers[v.index] = KickWorker.start(device, v.index, v.kick, stats, name);
    }
    LOG.debug("{}: device started with {}", name, setups);
  }

  /** Refuses rings that are misaligned or not wholly inside guest memory. */
  private static void checkRing(GuestMemory gm, Vring v, boolean eventIdx)
      throws VhostUserProtocolException {
    long n = v.num;
    int event = eventIdx ? 2 : 0;
    checkPart(gm, v, "descriptor table", v.descGpa, 16 * n, 16);
    checkPart(gm, v, "available ring", v.availGpa, 4 + 2 * n + event, 2);
    checkPart(gm, v, "used ring", v.usedGpa, 4 + 8 * n + event, 4);
  }

  private static void checkPart(
      GuestMemory gm, Vring v, String part, long gpa, long length, int align)
      throws VhostUserProtocolException {
    if ((gpa & (align - 1)) != 0) {
      throw new VhostUserProtocolException(
          String.format(
              "vring %d %s at gpa 0x%x is not %d-byte aligned", v.index, part, gpa, align));
    }
    if (gm.regionIndex(gpa, length) < 0) {
      throw new VhostUserProtocolException(
          String.format(
              "vring %d %s gpa 0x%x + %d bytes (size %d) is not inside one memory region"
                  + " (mapped: %s)",
              v.index, part, gpa, length, v.num, gm.describeRanges()));
    }
  }

  /** Stops one running ring; its next available index becomes the ring's base. */
  private void stopRing(Vring v) {
    KickWorker w = workers[v.index];
    if (w != null) {
      w.stop();
      workers[v.index] = null;
    }
    v.base = device.stopQueue(v.index) & 0xffff;
    v.active = false;
  }

  /** Stops every running ring and resets the device; returns whether it was running. */
  private boolean stopDevice() {
    if (!deviceActive) {
      return false;
    }
    for (Vring v : vrings) {
      if (v.active) {
        stopRing(v);
      }
    }
    device.reset();
    deviceActive = false;
    return true;
  }

  private void cleanup() {
    try {
      stopDevice();
    } catch (RuntimeException e) {
      LOG.error("{}: device failed to stop cleanly", name, e);
    }
    for (int i = 0; i < workers.length; i++) {
      if (workers[i] != null) {
        workers[i].stop();
        workers[i] = null;
      }
    }
    for (Vring v : vrings) {
      v.reset();
    }
    memory.close();
    synchronized (backendLock) {
      if (backendChannel != null) {
        backendChannel.close();
        backendChannel = null;
      }
    }
    socket.close();
  }

  // ---- helpers ----

  private boolean hasProtocolFeature(int feature) {
    return VhostUserProtocolFeatures.has(protocolFeatures, feature);
  }

  private boolean replyAck() {
    return hasProtocolFeature(VhostUserProtocolFeatures.REPLY_ACK);
  }

  private void requireProtocolFeature(VhostUserMessage m, int feature)
      throws VhostUserProtocolException {
    if (!hasProtocolFeature(feature)) {
      throw new VhostUserProtocolException(
          m.name()
              + " without negotiating protocol feature "
              + feature
              + (VhostUserProtocolFeatures.has(offeredProtocolFeatures, feature)
                  ? ""
                  : " (not offered by vdisk)"));
    }
  }

  /**
   * Checks the payload size ({@code -1}: any) and the number of descriptors ({@code -1}: zero or
   * one, ignored).
   */
  private static void expect(VhostUserMessage m, int size, int fds)
      throws VhostUserProtocolException {
    if (size >= 0 && m.size() != size) {
      throw badSize(m, String.valueOf(size));
    }
    int got = m.fdCount();
    if (fds >= 0 && got != fds) {
      throw new VhostUserProtocolException(
          m.name()
              + " carried "
              + got
              + " file descriptor"
              + (got == 1 ? "" : "s")
              + " (expected: "
              + fds
              + ")");
    }
    if (fds < 0 && got > 1) {
      throw new VhostUserProtocolException(
          m.name() + " carried " + got + " file descriptors (expected: at most 1)");
    }
  }

  private static VhostUserProtocolException badSize(VhostUserMessage m, String expected) {
    return new VhostUserProtocolException(
        m.name() + " payload of " + m.size() + " bytes (expected: " + expected + ")");
  }

  private boolean reply(VhostUserMessage m, int expectedSize, long value)
      throws VhostUserProtocolException, NativeException {
    expect(m, expectedSize, 0);
    channel.replyU64(value);
    return true;
  }

  private VhostUserProtocolException unsupported(VhostUserMessage m) {
    String what = VhostUserRequest.describe(m.request());
    return new VhostUserProtocolException(
        what.startsWith("unknown")
            ? what + " (vdisk knows requests 1.." + GET_STATUS + ")"
            : what + " is not supported by vdisk (the feature it belongs to was not offered)");
  }

  /** Best effort: a front end waiting for an ack learns of the failure before the close. */
  private void nackQuietly() {
    VhostUserMessage m = channel.message();
    if (m.needsReply() && replyAck()) {
      try {
        channel.replyU64(1);
      } catch (NativeException | RuntimeException e) {
        LOG.debug("{}: could not send the failure ack: {}", name, e.getMessage());
      }
    }
  }
}
