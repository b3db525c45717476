package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.PciHeader.*;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A virtio device behind the modern (virtio 1.x, non-transitional) PCI transport: one PCI function
 * with the fixed identity of {@link PciIdentity} (1AF4:1042 rev 01, mass storage), a 256-byte
 * configuration space with the virtio vendor capabilities (COMMON, NOTIFY, ISR, DEVICE, PCI_CFG)
 * and an MSI-X capability, and one non-prefetchable memory BAR laid out by a {@link PciProfile}.
 * The VMM forwards its guest's accesses to {@link #configRead}/{@link #configWrite} and {@link
 * #barRead}/{@link #barWrite} (or {@link #mmioRead}/{@link #mmioWrite} with absolute addresses) and
 * receives interrupts through its {@link InterruptSink}.
 *
 * <h2>Access rules (decided here, documented in {@code BAD_INPUT-pci.md})</h2>
 *
 * <ul>
 *   <li>Config space: widths 1, 2, 4, naturally aligned, offsets below 0x1000. Anything else is
 *       counted ({@link PciCounter#CONFIG_BAD_ACCESS}): reads return all ones, writes are ignored.
 *       Offsets 0x100-0xFFF (PCIe extended space) read 0: the function has no extended caps.
 *   <li>BARs: widths 1, 2, 4, 8. Another width, another BAR index, an offset beyond the BAR, or
 *       Memory Space decoding off: reads return all ones (nothing answered), writes are ignored.
 *       Offsets between structures read 0 and ignore writes (Aero contract).
 *   <li>A register accessed with a width or alignment the spec does not allow for it: reads return
 *       the little-endian bytes of the register image without side effects (as byte-enable hardware
 *       would), writes are ignored. 64-bit fields accept two aligned 32-bit halves or one aligned
 *       64-bit access. Device-specific config accepts any width at any offset (Windows miniports
 *       read it bytewise).
 *   <li>ISR: only a 1-byte read at its offset returns-and-clears; other reads peek.
 *   <li>Notify: 2- or 4-byte writes at {@code q * 4}; reads return 0.
 *   <li>MSI-X table and PBA: aligned 4- or 8-byte accesses; PBA is read-only.
 * </ul>
 *
 * Nothing a guest writes makes these methods throw; device bugs (a {@link VirtioDevice} that
 * throws) are caught, logged and turned into DEVICE_NEEDS_RESET.
 *
 * <h2>Threading</h2>
 *
 * Register accesses from any number of vCPU threads are serialised by one lock; the notify path
 * ({@link #notifyQueue} and notify-region writes) takes no lock, so doorbells on different queues
 * proceed in parallel. The device's {@link dev.vdisk.virtio.DeviceNotifier} calls take only the
 * interrupt lock.
 */
public final class VirtioPciDevice implements PciFunction {
  private final VirtioDevice device;
  private final BarLayout layout;
  private final String name;
  private final PciCounters counters;
  private final InterruptRouter irq;
  private final CommonConfigRegisters common;
  private final ConfigSpace config;
  private final int subsystemId;
  private final Object lock = new Object();

  /** Copy of the Command register for the lock-free doorbell path; written under the lock. */
  private volatile int command;

  private VirtioPciDevice(Builder b) {
    this.device = b.device;
    this.name = b.name;
    int queues = device.queueCount();
    int vectors = b.msixVectors >= 0 ? b.msixVectors : Math.min(queues + 1, 0x800);
    this.layout = BarLayout.of(b.profile, b.barWidth, queues, vectors);
    if (device.configSize() < 0 || device.configSize() > layout.deviceCfg().length()) {
      throw new IllegalArgumentException(
          "device config size "
              + device.configSize()
              + " (expected: 0.."
              + layout.deviceCfg().length()
              + " for profile "
              + b.profile
              + ")");
    }
    this.subsystemId = b.subsystemId;
    this.counters = new PciCounters(name);
    this.irq = new InterruptRouter(b.sink, counters, vectors, queues);
    QueueRestart restart = b.restart;
    if (restart == null && device instanceof QueueRestart) {
      restart = (QueueRestart) device;
    }
    this.common = new CommonConfigRegisters(device, restart, counters, irq, b.memory);
    this.config = new ConfigSpace(layout, subsystemId);
  }

  /** Starts building the PCI function for {@code device} (a virtio-blk device, ID 2). */
  public static Builder builder(VirtioDevice device) {
    return new Builder(device);
  }

  // ================================================================ configuration space

  @Override
  public long configRead(int offset, int size) {
    if (!validConfigAccess(offset, size)) {
      counters.guestError(
          PciCounter.CONFIG_BAD_ACCESS,
          "config read of %d bytes at 0x%x: returned all ones",
          size,
          offset);
      return ones(size);
    }
    if (offset >= CONFIG_SPACE_SIZE) {
      return 0;
    }
    synchronized (lock) {
      if (overlaps(offset, size, ConfigSpace.PCI_CFG_CAP + VirtioPciCap.PCI_CFG_DATA, 4)) {
        pciCfgWindow(false);
      }
      if (overlaps(offset, size, STATUS, 1)) {
        int st = config.u16(STATUS) & ~STATUS_INTERRUPT;
        config.put16(STATUS, irq.interruptStatus() ? st | STATUS_INTERRUPT : st);
      }
      return config.read(offset, size) & 0xFFFF_FFFFL;
    }
  }

  @Override
  public void configWrite(int offset, int size, long value) {
    if (!validConfigAccess(offset, size)) {
      counters.guestError(
          PciCounter.CONFIG_BAD_ACCESS, "config write of %d bytes at 0x%x: ignored", size, offset);
      return;
    }
    if (offset >= CONFIG_SPACE_SIZE) {
      return;
    }
    synchronized (lock) {
      int oldCommand = config.u16(COMMAND);
      boolean writable = config.write(offset, size, (int) value);
      // BAR dwords, CardBus and ROM are probed with all ones by every BIOS; command/status writes
      // are routine (status error bits are write-1-to-clear on hardware that has them).
      boolean routine =
          (offset >= BAR0 && offset < SUBSYSTEM_VENDOR_ID)
              || (offset >= EXPANSION_ROM && offset < CAPABILITIES_POINTER)
              || (offset >= COMMAND && offset < REVISION_ID);
      if (!writable && !routine) {
        counters.guestError(
            PciCounter.CONFIG_READ_ONLY_WRITE,
            "config write 0x%x of %d bytes at read-only 0x%x: ignored",
            value,
            size,
            offset);
      }
      if (overlaps(offset, size, COMMAND, 2)) {
        commandWritten(oldCommand, config.u16(COMMAND));
      }
      if (layout.msixVectors() > 0
          && overlaps(offset, size, ConfigSpace.MSIX_CAP + VirtioPciCap.MSIX_MESSAGE_CONTROL, 2)) {
        irq.messageControlChanged(
            config.u16(ConfigSpace.MSIX_CAP + VirtioPciCap.MSIX_MESSAGE_CONTROL));
      }
      if (overlaps(offset, size, ConfigSpace.PCI_CFG_CAP + VirtioPciCap.PCI_CFG_DATA, 4)) {
        pciCfgWindow(true);
      }
    }
  }

  private static boolean validConfigAccess(int offset, int size) {
    return (size == 1 || size == 2 || size == 4)
        && offset >= 0
        && offset <= EXTENDED_CONFIG_SPACE_SIZE - size
        && offset % size == 0;
  }

  private void commandWritten(int oldCommand, int command) {
    this.command = command;
    irq.commandChanged((command & COMMAND_INTX_DISABLE) != 0, (command & COMMAND_BUS_MASTER) != 0);
    if (((oldCommand ^ command) & COMMAND_BUS_MASTER) != 0) {
      common.busMasterChanged((command & COMMAND_BUS_MASTER) != 0);
    }
  }

  /**
   * The VIRTIO_PCI_CAP_PCI_CFG window (virtio 1.2 §4.1.4.9): an access to {@code pci_cfg_data}
   * performs the BAR access the cap's bar/offset/length select, whatever the BAR's placement and
   * Memory Space decoding. Only lengths 1, 2, 4, naturally aligned, inside a virtio structure.
   */
  private void pciCfgWindow(boolean write) {
    int cap = ConfigSpace.PCI_CFG_CAP;
    int bar = config.u8(cap + VirtioPciCap.BAR);
    long offset = config.u32(cap + VirtioPciCap.OFFSET) & 0xFFFF_FFFFL;
    long length = config.u32(cap + VirtioPciCap.LENGTH) & 0xFFFF_FFFFL;
    int size = (int) Math.min(length, 8);
    boolean ok =
        bar == layout.bar()
            && (length == 1 || length == 2 || length == 4)
            && offset % length == 0
            && (layout.commonCfg().contains(offset, size)
                || layout.notifyCfg().contains(offset, size)
                || layout.isrCfg().contains(offset, size)
                || layout.deviceCfg().contains(offset, size));
    if (!ok) {
      counters.guestError(
          PciCounter.PCI_CFG_BAD_ACCESS,
          "PCI_CFG window %s with bar %d offset 0x%x length %d: ignored",
          write ? "write" : "read",
          bar,
          offset,
          length);
      return;
    }
    int data = cap + VirtioPciCap.PCI_CFG_DATA;
    if (write) {
      regionWrite(offset, size, config.u32(data) & 0xFFFF_FFFFL);
    } else {
      long v = regionRead(offset, size);
      for (int i = 0; i < size; i++) {
        config.put8(data + i, (int) (v >>> (8 * i)));
      }
    }
  }

  // ================================================================ BARs

  @Override
  public long barRead(int bar, long offset, int size) {
    if (!checkBarAccess(bar, offset, size, false)) {
      return ones(size);
    }
    synchronized (lock) {
      return regionRead(offset, size);
    }
  }

  @Override
  public void barWrite(int bar, long offset, int size, long value) {
    if (!checkBarAccess(bar, offset, size, true)) {
      return;
    }
    if (layout.notifyCfg().containsStart(offset)) {
      notifyWrite(offset, size); // the fast path: no register lock
      return;
    }
    synchronized (lock) {
      regionWrite(offset, size, value);
    }
  }

  private boolean checkBarAccess(int bar, long offset, int size, boolean write) {
    String op = write ? "write" : "read";
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      counters.guestError(
          PciCounter.BAR_BAD_WIDTH, "BAR%d %s of %d bytes at 0x%x", bar, op, size, offset);
      return false;
    }
    if (bar != layout.bar() || offset < 0 || offset > layout.size() - size) {
      counters.guestError(
          PciCounter.BAR_OUT_OF_RANGE,
          "BAR%d %s of %d bytes at 0x%x (implemented: BAR%d of 0x%x bytes)",
          bar,
          op,
          size,
          offset,
          layout.bar(),
          layout.size());
      return false;
    }
    if ((commandRegister() & COMMAND_MEMORY) == 0) {
      counters.guestError(
          PciCounter.BAR_DECODE_DISABLED,
          "BAR%d %s at 0x%x with Memory Space decoding off",
          bar,
          op,
          offset);
      return false;
    }
    return true;
  }

  private int commandRegister() {
    return command;
  }

  /** Reads a BAR offset already checked to lie in the BAR; dispatches to the structure. */
  private long regionRead(long offset, int size) {
    BarLayout l = layout;
    if (l.commonCfg().contains(offset, size)) {
      int rel = (int) (offset - l.commonCfg().offset());
      boolean valid = rel >= CommonCfg.SIZE || CommonCfg.isValidAccess(rel, size);
      if (!valid) {
        badRegister("common cfg", rel, size, false);
      }
      return common.read(rel, size, valid);
    }
    if (l.notifyCfg().contains(offset, size)) {
      return 0;
    }
    if (l.isrCfg().contains(offset, size)) {
      return isrRead((int) (offset - l.isrCfg().offset()), size);
    }
    if (l.deviceCfg().contains(offset, size)) {
      common.publishConfigChange();
      return readDeviceConfig((int) (offset - l.deviceCfg().offset()), size);
    }
    if (l.msixTable() != null && l.msixTable().contains(offset, size)) {
      int rel = (int) (offset - l.msixTable().offset());
      if (!msixAccessOk(rel, size)) {
        badRegister("MSI-X table", rel, size, false);
      }
      return irq.readTable(rel, size);
    }
    if (l.msixPba() != null && l.msixPba().contains(offset, size)) {
      int rel = (int) (offset - l.msixPba().offset());
      if (!msixAccessOk(rel, size)) {
        badRegister("MSI-X PBA", rel, size, false);
      }
      return irq.readPba(rel, size);
    }
    gapOrStraddle(offset, size, false);
    return 0;
  }

  private void regionWrite(long offset, int size, long value) {
    BarLayout l = layout;
    if (l.commonCfg().contains(offset, size)) {
      int rel = (int) (offset - l.commonCfg().offset());
      if (rel < CommonCfg.SIZE && !CommonCfg.isValidAccess(rel, size)) {
        badRegister("common cfg", rel, size, true);
        return;
      }
      common.write(rel, size, value);
      return;
    }
    if (l.notifyCfg().contains(offset, size)) {
      notifyWrite(offset, size);
      return;
    }
    if (l.isrCfg().contains(offset, size)) {
      counters.guestError(
          PciCounter.REGISTER_READ_ONLY_WRITE, "wrote the read-only ISR: ignored", offset);
      return;
    }
    if (l.deviceCfg().contains(offset, size)) {
      writeDeviceConfig((int) (offset - l.deviceCfg().offset()), size, value);
      return;
    }
    if (l.msixTable() != null && l.msixTable().contains(offset, size)) {
      int rel = (int) (offset - l.msixTable().offset());
      if (!msixAccessOk(rel, size)) {
        badRegister("MSI-X table", rel, size, true);
        return;
      }
      irq.writeTable(rel, size, value);
      return;
    }
    if (l.msixPba() != null && l.msixPba().contains(offset, size)) {
      counters.guestError(
          PciCounter.REGISTER_READ_ONLY_WRITE, "wrote the read-only MSI-X PBA: ignored");
      return;
    }
    gapOrStraddle(offset, size, true);
  }

  private static boolean msixAccessOk(int rel, int size) {
    return (size == 4 || size == 8) && rel % size == 0;
  }

  private void badRegister(String where, int rel, int size, boolean write) {
    counters.guestError(
        PciCounter.REGISTER_BAD_ACCESS,
        "%s of %d bytes at %s offset 0x%x (width/alignment not allowed): %s",
        write ? "write" : "read",
        size,
        where,
        rel,
        write ? "ignored" : "returned the register bytes");
  }

  private void gapOrStraddle(long offset, int size, boolean write) {
    BarLayout l = layout;
    long last = offset + size - 1;
    for (BarRegion r :
        new BarRegion[] {
          l.commonCfg(), l.notifyCfg(), l.isrCfg(), l.deviceCfg(), l.msixTable(), l.msixPba()
        }) {
      if (r != null && (r.containsStart(offset) || r.containsStart(last))) {
        counters.guestError(
            PciCounter.REGISTER_BAD_ACCESS,
            "%s of %d bytes at BAR offset 0x%x crosses the end of a structure: %s",
            write ? "write" : "read",
            size,
            offset,
            write ? "ignored" : "read 0");
        return;
      }
    }
    counters.guestError(
        PciCounter.BAR_GAP_ACCESS,
        "%s of %d bytes at BAR offset 0x%x between structures: %s",
        write ? "write" : "read",
        size,
        offset,
        write ? "ignored" : "read 0");
  }

  private int isrRead(int rel, int size) {
    if (rel == 0 && size == 1) {
      return irq.readAndClearIsr();
    }
    counters.guestError(
        PciCounter.ISR_BAD_READ,
        "read %d bytes at ISR offset %d (expected: 1 byte at 0): peeked, not cleared",
        size,
        rel);
    return rel == 0 ? irq.peekIsr() : 0;
  }

  private long readDeviceConfig(int rel, int size) {
    if (rel >= device.configSize()) {
      return 0;
    }
    try {
      return device.readConfig(rel, size);
    } catch (RuntimeException e) {
      common.deviceFault("readConfig", e);
      return 0;
    }
  }

  private void writeDeviceConfig(int rel, int size, long value) {
    try {
      device.writeConfig(rel, size, value);
    } catch (RuntimeException e) {
      common.deviceFault("writeConfig", e);
    }
  }

  private void notifyWrite(long offset, int size) {
    long rel = offset - layout.notifyCfg().offset();
    int m = layout.notifyOffMultiplier();
    if ((size != 2 && size != 4) || rel % m != 0 || rel / m >= layout.queueCount()) {
      counters.guestError(
          PciCounter.NOTIFY_BAD_ACCESS,
          "notify write of %d bytes at notify offset 0x%x (expected: 2 or 4 bytes at 4*queue)",
          size,
          rel);
      return;
    }
    common.notifyQueue((int) (rel / m));
  }

  /**
   * Rings queue {@code queue}'s doorbell: what a notify-region write does, for a VMM that catches
   * doorbells itself (ioeventfd). Lock-free; never throws.
   */
  public void notifyQueue(int queue) {
    common.notifyQueue(queue);
  }

  // ================================================================ absolute addresses

  /** Guest-programmed base address of the virtio BAR (0 while unassigned). */
  public long barAddress() {
    synchronized (lock) {
      return config.barBase();
    }
  }

  /**
   * Guest-programmed base of BAR {@code bar} with the type bits masked off (0 when unprogrammed or
   * not implemented). For a 64-bit BAR the lower index reports the whole base and the upper index
   * reports 0, so a VMM can decode absolute addresses by scanning six entries.
   */
  public long barBase(int bar) {
    return bar == layout.bar() ? barAddress() : 0;
  }

  /** Size of BAR {@code bar} in bytes; 0 for BARs the function does not implement. */
  public long barSize(int bar) {
    return bar == layout.bar() ? layout.size() : 0;
  }

  /** True when Command.Memory Space decoding is on (the BAR answers at its base). */
  public boolean memoryDecodingEnabled() {
    return (commandRegister() & COMMAND_MEMORY) != 0;
  }

  /**
   * True when {@code address} falls in the virtio BAR as the guest programmed it and Memory Space
   * decoding is on: the VMM may route the access here.
   */
  public boolean claims(long address, int size) {
    synchronized (lock) {
      long base = config.barBase();
      long rel = address - base;
      return (config.u16(COMMAND) & COMMAND_MEMORY) != 0
          && base != 0
          && Long.compareUnsigned(rel, layout.size()) < 0
          && rel <= layout.size() - Math.max(size, 1);
    }
  }

  /**
   * A read at an absolute guest-physical address; all ones if no BAR of this function claims it.
   */
  public long mmioRead(long address, int size) {
    if (!claims(address, size)) {
      counters.guestError(
          PciCounter.MMIO_UNCLAIMED,
          "MMIO read of %d bytes at 0x%x outside the BAR",
          size,
          address);
      return ones(size);
    }
    return barRead(layout.bar(), address - barAddress(), size);
  }

  /**
   * A write at an absolute guest-physical address; ignored if no BAR of this function claims it.
   */
  public void mmioWrite(long address, int size, long value) {
    if (!claims(address, size)) {
      counters.guestError(
          PciCounter.MMIO_UNCLAIMED,
          "MMIO write of %d bytes at 0x%x outside the BAR",
          size,
          address);
      return;
    }
    barWrite(layout.bar(), address - barAddress(), size, value);
  }

  // ================================================================ VMM controls

  /**
   * Replaces the guest memory the transport checks rings against and hands to the device at the
   * next activation (a running session keeps the memory it was activated with).
   */
  public void setGuestMemory(GuestMemory memory) {
    common.setMemory(Objects.requireNonNull(memory, "memory"));
  }

  /**
   * Function-level (or system) reset: the virtio device is reset and the configuration space, BAR
   * placement, Command register and MSI-X state return to power-on values.
   */
  public void resetFunction() {
    synchronized (lock) {
      common.reset();
      irq.functionReset();
      ConfigSpace fresh = new ConfigSpace(layout, subsystemId);
      for (int off = 0; off < CONFIG_SPACE_SIZE; off += 4) {
        config.put32(off, fresh.u32(off));
      }
      command = 0;
      common.busMasterChanged(false);
      counters.event(PciCounter.FUNCTION_RESETS);
    }
  }

  /** The BAR layout: where each structure sits, for a VMM that maps or documents it. */
  public BarLayout layout() {
    return layout;
  }

  /** The doorbell range, for an ioeventfd-style fast path. */
  public NotifyRegion notifyRegion() {
    BarRegion n = layout.notifyCfg();
    return new NotifyRegion(
        layout.bar(), n.offset(), n.length(), layout.notifyOffMultiplier(), layout.queueCount());
  }

  /** The device behind this function. */
  public VirtioDevice device() {
    return device;
  }

  public long counter(PciCounter counter) {
    return counters.get(counter);
  }

  /** A consistent-enough snapshot of state and counters (each field read atomically). */
  public PciTransportStats stats() {
    synchronized (lock) {
      List<Integer> vectors = new ArrayList<>();
      for (int v : irq.queueVectors()) {
        vectors.add(v);
      }
      return new PciTransportStats(
          common.status(),
          common.offeredFeatures(),
          common.negotiatedFeatures(),
          common.generation(),
          irq.msixEnabled() ? InterruptMode.MSIX : InterruptMode.INTX,
          layout.msixVectors(),
          irq.configVector(),
          List.copyOf(vectors),
          irq.peekIsr(),
          config.barBase(),
          common.needsResetReason(),
          counters.snapshot());
    }
  }

  @Override
  public String toString() {
    return "VirtioPciDevice{" + name + ", " + layout + "}";
  }

  // ================================================================ helpers

  private static boolean overlaps(int offset, int size, int start, int length) {
    return offset < start + length && start < offset + size;
  }

  /** All ones of an access width: what a read that nothing answers returns. */
  static long ones(int size) {
    return size >= 1 && size < 8 ? (1L << (8 * size)) - 1 : -1L;
  }

  /** Immutable configuration of one function, validated at {@link #build()}. */
  public static final class Builder {
    private final VirtioDevice device;
    private PciProfile profile = PciProfile.DEFAULT;
    private BarWidth barWidth = BarWidth.BITS_64;
    private int subsystemId = PciIdentity.DEFAULT_SUBSYSTEM_ID;
    private int msixVectors = -1;
    private InterruptSink sink = InterruptSink.NONE;
    private GuestMemory memory;
    private QueueRestart restart;
    private String name = "virtio-blk-pci";

    private Builder(VirtioDevice device) {
      this.device = Objects.requireNonNull(device, "device");
    }

    /** BAR layout; {@link PciProfile#DEFAULT} unless set. */
    public Builder profile(PciProfile profile) {
      this.profile = Objects.requireNonNull(profile, "profile");
      return this;
    }

    /** Width of the virtio BAR; 64-bit unless set (32-bit for QEMU's multi-process proxy). */
    public Builder barWidth(BarWidth width) {
      this.barWidth = Objects.requireNonNull(width, "width");
      return this;
    }

    /** Subsystem ID, 0x40..0xFFFF; {@link PciIdentity#DEFAULT_SUBSYSTEM_ID} unless set. */
    public Builder subsystemId(int subsystemId) {
      this.subsystemId = PciIdentity.checkSubsystemId(subsystemId);
      return this;
    }

    /**
     * Number of MSI-X vectors (0 = no MSI-X capability, INTx only); queues + 1 unless set, as
     * QEMU's virtio-blk-pci.
     */
    public Builder msixVectors(int vectors) {
      if (vectors < 0 || vectors > BarLayout.MAX_MSIX_VECTORS) {
        throw new IllegalArgumentException(
            "MSI-X vectors " + vectors + " (expected: 0.." + BarLayout.MAX_MSIX_VECTORS + ")");
      }
      this.msixVectors = vectors;
      return this;
    }

    /** Where interrupts go; {@link InterruptSink#NONE} unless set. */
    public Builder interruptSink(InterruptSink sink) {
      this.sink = Objects.requireNonNull(sink, "sink");
      return this;
    }

    /** Guest memory (may also be given later with {@link #setGuestMemory}). */
    public Builder guestMemory(GuestMemory memory) {
      this.memory = Objects.requireNonNull(memory, "memory");
      return this;
    }

    /**
     * How the device takes a queue back after a per-queue reset, for devices that can but do not
     * implement {@link QueueRestart} themselves (e.g. {@code blk::startQueue}). Without one (and
     * without the device implementing it) RING_RESET is never offered.
     */
    public Builder queueRestart(QueueRestart restart) {
      this.restart = Objects.requireNonNull(restart, "restart");
      return this;
    }

    /** Name used in log lines. */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** Validates the device and the options; throws naming the first bad value. */
    public VirtioPciDevice build() {
      if (device.deviceId() != PciIdentity.VIRTIO_DEVICE_ID) {
        throw new IllegalArgumentException(
            "virtio device ID "
                + device.deviceId()
                + " (expected: "
                + PciIdentity.VIRTIO_DEVICE_ID
                + ", block: the PCI identity is fixed to 1AF4:1042)");
      }
      if (!VirtioFeatures.has(device.deviceFeatures(), VirtioFeatures.VERSION_1)) {
        throw new IllegalArgumentException(
            String.format(
                "device features 0x%x lack VERSION_1 (the transport is modern-only)",
                device.deviceFeatures()));
      }
      int max = device.maxQueueSize();
      if (max < 1 || max > 32768 || Integer.bitCount(max) != 1) {
        throw new IllegalArgumentException(
            "max queue size " + max + " (expected: power of two <= 32768)");
      }
      return new VirtioPciDevice(this);
    }
  }
}
