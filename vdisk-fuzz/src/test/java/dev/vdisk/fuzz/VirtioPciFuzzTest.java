package dev.vdisk.fuzz;

import static dev.vdisk.virtio.pci.CommonCfg.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.blk.BlkQueueStatsSnapshot;
import dev.vdisk.virtio.blk.Profile;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.pci.BarLayout;
import dev.vdisk.virtio.pci.BarRegion;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.InterruptSink;
import dev.vdisk.virtio.pci.PciCounter;
import dev.vdisk.virtio.pci.PciHeader;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.VirtioPciDevice;

/**
 * Fuzzes the virtio PCI register interface ({@link VirtioPciDevice}, DEFAULT and AERO layouts, 64-
 * and 32-bit BAR, with and without MSI-X) as a hostile guest driver: a sequence of config-space and
 * BAR reads and writes of any width (1/2/3/4/8 or anything) at any offset, absolute MMIO accesses,
 * function resets, PCI_CFG window accesses, plus steering operations that write named common-config
 * registers or run a whole driver initialisation, and doorbells for queues whose rings (built by
 * {@link RequestRingWriter}) live in guard-paged memory.
 *
 * <p>Oracles after every operation: nothing is thrown into the VMM; a read returns no bits beyond
 * its width; no host access outside guest memory (guard pages); bounded work (no operation
 * completes more chains than the queues hold); the device's used idx never passes the avail idx it
 * read and in-flight never exceeds the queue size; heap allocation per operation stays under a
 * budget; at the end no device bug was contained (PCI DEVICE_EXCEPTION and blk internalErrors both
 * 0).
 */
class VirtioPciFuzzTest {
  private static final long RAM = 0x10000;
  private static final long RAM_SIZE = 0x20000;
  private static final int QUEUES = 2;

  /** Queue size the device offers: 16 (DEFAULT; small rings go deep fast), 128 (AERO, fixed). */
  private static final int DEFAULT_QUEUE_SIZE = 16;

  private static final int AERO_QUEUE_SIZE = 128;
  private static final int DISK_BYTES = 256 << 10;
  private static final int MAX_OPS = 48;

  /** Where queue q's rings and buffers go: 0x4000 bytes per queue. */
  private static long desc(int q) {
    return RAM + 0x4000L * q;
  }

  private static long avail(int q) {
    return desc(q) + 0x1000;
  }

  private static long used(int q) {
    return desc(q) + 0x2000;
  }

  private static long buffers(int q) {
    return desc(q) + 0x3000;
  }

  private static final long BUFFER_BYTES = 0x1000;

  /** Offsets in this transport's config space (fixed by its ConfigSpace). */
  private static final int PCI_CFG_CAP = 0x84;

  private static final int MSIX_CAP = 0x98;
  private static final long BAR_ADDRESS = 0xfe00_0000L;

  /** Common-config fields and their natural widths. */
  private static final int[][] COMMON_FIELDS = {
    {DEVICE_FEATURE_SELECT, 4},
    {DEVICE_FEATURE, 4},
    {DRIVER_FEATURE_SELECT, 4},
    {DRIVER_FEATURE, 4},
    {CONFIG_MSIX_VECTOR, 2},
    {NUM_QUEUES, 2},
    {DEVICE_STATUS, 1},
    {CONFIG_GENERATION, 1},
    {QUEUE_SELECT, 2},
    {QUEUE_SIZE, 2},
    {QUEUE_MSIX_VECTOR, 2},
    {QUEUE_ENABLE, 2},
    {QUEUE_NOTIFY_OFF, 2},
    {QUEUE_DESC, 8},
    {QUEUE_DRIVER, 8},
    {QUEUE_DEVICE, 8},
    {QUEUE_NOTIF_CONFIG_DATA, 2},
    {QUEUE_RESET, 2},
    {ADMIN_QUEUE_INDEX, 2},
    {ADMIN_QUEUE_NUM, 2}
  };

  private static final int[] STATUSES = {
    0,
    STATUS_ACKNOWLEDGE,
    STATUS_ACKNOWLEDGE | STATUS_DRIVER,
    STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
    STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
    STATUS_FAILED,
    STATUS_NEEDS_RESET,
    STATUS_SUSPEND
  };

  /**
   * Heap bytes one register operation may allocate: a DRIVER_OK write activates the device (queue
   * state sized by the queue size, at most 128 here); nothing may scale with a written value.
   */
  private static final AllocationBudget ALLOCATION = new AllocationBudget(8 << 20);

  private static long inputs;
  private static long kicksWithWork;
  private static long completedTotal;
  private static long prologueChains;

  private static final class CountingSink implements InterruptSink {
    long msi;
    long intx;

    @Override
    public void msi(long address, int data) {
      msi++;
    }

    @Override
    public void intx(boolean asserted) {
      intx++;
    }
  }

  @FuzzTest(maxDuration = "30s")
  void hostileRegisterSequences(FuzzedDataProvider data) throws Exception {
    boolean aero = data.consumeBoolean();
    BarWidth width = data.consumeBoolean() ? BarWidth.BITS_64 : BarWidth.BITS_32;
    int msix = new int[] {-1, 0, 1, 3}[data.consumeInt(0, 3)];
    try (GuardedMemory guarded = new GuardedMemory(RAM, RAM_SIZE);
        RamDisk disk = RamDisk.create(DISK_BYTES)) {
      GuestMemory mem = guarded.memory();
      int queueSize = aero ? AERO_QUEUE_SIZE : DEFAULT_QUEUE_SIZE;
      int[] made = new int[QUEUES];
      for (int q = 0; q < QUEUES; q++) {
        made[q] =
            RequestRingWriter.write(
                data,
                mem,
                desc(q),
                avail(q),
                queueSize,
                buffers(q),
                BUFFER_BYTES,
                DISK_BYTES / 512);
      }
      VirtioBlkDevice blk =
          VirtioBlkDevice.builder(disk)
              .profile(aero ? Profile.AERO : Profile.DEFAULT)
              .queues(aero ? 1 : QUEUES) // the aerovblk contract has exactly one queue
              .queueSize(queueSize)
              .discard(!aero) // and no DISCARD or WRITE_ZEROES
              .writeZeroes(!aero)
              .build();
      CountingSink sink = new CountingSink();
      VirtioPciDevice.Builder b =
          VirtioPciDevice.builder(blk)
              .profile(aero ? PciProfile.AERO : PciProfile.DEFAULT)
              .barWidth(width)
              .interruptSink(sink)
              .guestMemory(mem);
      if (msix >= 0) {
        b.msixVectors(msix);
      }
      VirtioPciDevice pci = b.build();
      Driver driver = new Driver(pci, data, queueSize);
      if (!data.consumeBoolean()) {
        // Unless told otherwise, start from a driven device (initialised, both queues kicked) so
        // that short inputs already reach the request path; the fuzzed operations follow.
        driver.initialise();
        pci.barWrite(pci.layout().bar(), pci.layout().notifyCfg().offset(), 2, 0);
        pci.barWrite(pci.layout().bar(), pci.layout().notifyCfg().offset() + 4, 2, 1);
        checkQueues(blk);
        prologueChains += completed(blk);
      }
      int ops = data.consumeInt(1, MAX_OPS);
      for (int i = 0; i < ops && data.remainingBytes() > 0; i++) {
        long completedBefore = completed(blk);
        ALLOCATION.start();
        driver.step();
        ALLOCATION.check("register operation " + driver.lastOp);
        long done = completed(blk) - completedBefore;
        if (done > (long) QUEUES * queueSize) {
          throw new AssertionError(
              "one "
                  + driver.lastOp
                  + " completed "
                  + done
                  + " chains (the queues hold "
                  + QUEUES * queueSize
                  + ")");
        }
        if (done > 0) {
          kicksWithWork++;
          completedTotal += done;
        }
        checkQueues(blk);
      }
      long bugs = pci.counter(PciCounter.DEVICE_EXCEPTION) + blk.stats().internalErrors();
      if (bugs != 0) {
        throw new AssertionError(bugs + " device bugs were contained (must be 0)");
      }
      pci.resetFunction();
    }
    if ((++inputs & 0x3ff) == 0 || inputs == 200) {
      System.err.printf(
          "oracle: %d inputs, %d chains completed by the prologue, %d fuzzed operations completed"
              + " %d chains, worst allocation %d bytes per operation (%d loaded classes)%n",
          inputs,
          prologueChains,
          kicksWithWork,
          completedTotal,
          ALLOCATION.worst(),
          ALLOCATION.skipped());
    }
  }

  private static long completed(VirtioBlkDevice blk) {
    long n = 0;
    for (BlkQueueStatsSnapshot q : blk.stats().queues()) {
      n += q.completed();
    }
    return n;
  }

  /**
   * The device's own view must stay consistent whatever the registers and rings say: it never
   * publishes a used entry for a chain it did not take from the avail ring (used idx never passes
   * the avail entries consumed), never holds more chains than the queue has, and, unless it stopped
   * the queue on a ring fault, never consumes beyond the avail idx the driver published.
   */
  private static void checkQueues(VirtioBlkDevice blk) {
    for (BlkQueueStatsSnapshot q : blk.stats().queues()) {
      int taken = (q.nextAvail() - q.usedIdx()) & 0xffff;
      if (taken > q.size() || q.inFlight() < 0 || q.inFlight() > q.size()) {
        throw new AssertionError(
            "queue "
                + q.index()
                + ": used idx "
                + q.usedIdx()
                + " vs next avail "
                + q.nextAvail()
                + ", "
                + q.inFlight()
                + " in flight (size "
                + q.size()
                + ")");
      }
      int ahead = (q.lastAvailIdx() - q.nextAvail()) & 0xffff;
      if (q.running() && !q.broken() && ahead > q.size()) {
        throw new AssertionError(
            "queue "
                + q.index()
                + " consumed up to "
                + q.nextAvail()
                + " past avail idx "
                + q.lastAvailIdx()
                + " (size "
                + q.size()
                + ") and did not stop");
      }
    }
  }

  /** The hostile driver: one fuzzer-chosen register operation per {@link #step()}. */
  private static final class Driver {
    private final VirtioPciDevice pci;
    private final FuzzedDataProvider data;
    private final BarLayout layout;
    private final int queueSize;
    String lastOp = "none";

    Driver(VirtioPciDevice pci, FuzzedDataProvider data, int queueSize) {
      this.pci = pci;
      this.queueSize = queueSize;
      this.data = data;
      this.layout = pci.layout();
    }

    void step() {
      switch (data.consumeInt(0, 12)) {
        case 0 -> {
          lastOp = "config read";
          int size = width();
          checkFits(pci.configRead(configOffset(), size), size);
        }
        case 1 -> {
          lastOp = "config write";
          pci.configWrite(configOffset(), width(), data.consumeLong());
        }
        case 2 -> {
          lastOp = "BAR read";
          int size = width();
          checkFits(pci.barRead(barIndex(), barOffset(), size), size);
        }
        case 3 -> {
          lastOp = "BAR write";
          pci.barWrite(barIndex(), barOffset(), width(), data.consumeLong());
        }
        case 4 -> {
          lastOp = "common write";
          int[] f = COMMON_FIELDS[data.consumeInt(0, COMMON_FIELDS.length - 1)];
          common(f[0], f[1], commonValue(f[0]));
        }
        case 5 -> {
          lastOp = "common read";
          int[] f = COMMON_FIELDS[data.consumeInt(0, COMMON_FIELDS.length - 1)];
          int size = data.consumeBoolean() ? f[1] : width();
          checkFits(pci.barRead(layout.bar(), layout.commonCfg().offset() + f[0], size), size);
        }
        case 6 -> {
          lastOp = "doorbell";
          int q = data.consumeInt(0, QUEUES);
          int size = data.consumeInt(0, 3) == 0 ? width() : 2;
          pci.barWrite(layout.bar(), layout.notifyCfg().offset() + 4L * q, size, q);
        }
        case 7 -> {
          lastOp = "driver init";
          initialise();
        }
        case 8 -> {
          lastOp = "command write";
          int command =
              data.consumeBoolean()
                  ? PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER
                  : data.consumeInt(0, 0xffff);
          pci.configWrite(PciHeader.COMMAND, 2, command);
        }
        case 9 -> msix();
        case 10 -> {
          lastOp = "ISR read";
          BarRegion isr = layout.isrCfg();
          checkFits(pci.barRead(layout.bar(), isr.offset(), 1), 1);
        }
        case 11 -> mmio();
        default -> pciCfgOrReset();
      }
    }

    private int width() {
      return switch (data.consumeInt(0, 5)) {
        case 0 -> 1;
        case 1 -> 2;
        case 2 -> 3;
        case 3 -> 4;
        case 4 -> 8;
        default -> data.consumeInt();
      };
    }

    private int configOffset() {
      return data.consumeBoolean() ? data.consumeInt(0, 0x103) : data.consumeInt();
    }

    private int barIndex() {
      return data.consumeInt(0, 3) != 0 ? layout.bar() : data.consumeInt(-1, 6);
    }

    private long barOffset() {
      BarRegion r =
          switch (data.consumeInt(0, 6)) {
            case 0 -> layout.commonCfg();
            case 1 -> layout.notifyCfg();
            case 2 -> layout.isrCfg();
            case 3 -> layout.deviceCfg();
            case 4 -> layout.msixTable();
            case 5 -> layout.msixPba();
            default -> null;
          };
      if (r == null) {
        return data.consumeBoolean() ? data.consumeLong(0, layout.size() + 8) : data.consumeLong();
      }
      return r.offset() + data.consumeLong(0, r.length() + 8);
    }

    private long commonValue(int field) {
      int q = data.consumeInt(0, QUEUES - 1);
      return switch (field) {
        case DEVICE_STATUS ->
            data.consumeBoolean()
                ? STATUSES[data.consumeInt(0, STATUSES.length - 1)]
                : data.consumeInt(0, 0xff);
        case QUEUE_DESC -> data.consumeBoolean() ? desc(q) : data.consumeLong();
        case QUEUE_DRIVER -> data.consumeBoolean() ? avail(q) : data.consumeLong();
        case QUEUE_DEVICE -> data.consumeBoolean() ? used(q) : data.consumeLong();
        case QUEUE_SIZE ->
            data.consumeBoolean() ? 1 << data.consumeInt(0, 5) : data.consumeInt(0, 0xffff);
        default -> data.consumeBoolean() ? data.consumeInt(0, 3) : data.consumeLong();
      };
    }

    /** A register write; 64-bit fields as one 8-byte access or two 4-byte halves, as drivers do. */
    private void common(int field, int size, long value) {
      long at = layout.commonCfg().offset() + field;
      if (size == 8 && data.consumeBoolean()) {
        pci.barWrite(layout.bar(), at, 4, value & 0xffff_ffffL);
        pci.barWrite(layout.bar(), at + 4, 4, value >>> 32);
      } else {
        pci.barWrite(layout.bar(), at, size, value);
      }
    }

    /** What Linux's virtio_pci_modern does at probe, with fuzzer-chosen features and queues. */
    private void initialise() {
      pci.configWrite(
          PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
      if (layout.msixVectors() > 0 && data.consumeBoolean()) {
        pci.configWrite(MSIX_CAP + 2, 2, 0x8000); // MSI-X enable
      }
      common(DEVICE_STATUS, 1, 0);
      common(DEVICE_STATUS, 1, STATUS_ACKNOWLEDGE);
      common(DEVICE_STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
      long offered = 0;
      for (int half = 0; half < 2; half++) {
        common(DEVICE_FEATURE_SELECT, 4, half);
        long v = pci.barRead(layout.bar(), layout.commonCfg().offset() + DEVICE_FEATURE, 4);
        offered |= (v & 0xffff_ffffL) << (32 * half);
      }
      long accepted =
          data.consumeBoolean()
              ? offered & (data.consumeLong() | VirtioFeatures.bit(VirtioFeatures.VERSION_1))
              : offered;
      for (int half = 0; half < 2; half++) {
        common(DRIVER_FEATURE_SELECT, 4, half);
        common(DRIVER_FEATURE, 4, (accepted >>> (32 * half)) & 0xffff_ffffL);
      }
      common(DEVICE_STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
      int queues = QUEUES - data.consumeInt(0, QUEUES - 1);
      for (int q = 0; q < queues; q++) {
        common(QUEUE_SELECT, 2, q);
        common(QUEUE_SIZE, 2, data.consumeInt(0, 3) != 3 ? queueSize : 1 << data.consumeInt(0, 5));
        common(QUEUE_MSIX_VECTOR, 2, data.consumeBoolean() ? q + 1 : data.consumeInt(0, 0xffff));
        common(QUEUE_DESC, 8, desc(q));
        common(QUEUE_DRIVER, 8, avail(q));
        common(QUEUE_DEVICE, 8, used(q));
        common(QUEUE_ENABLE, 2, 1);
      }
      common(CONFIG_MSIX_VECTOR, 2, 0);
      common(
          DEVICE_STATUS,
          1,
          STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    }

    private void msix() {
      lastOp = "MSI-X access";
      BarRegion table = layout.msixTable();
      if (table == null) {
        pci.configWrite(MSIX_CAP + 2, 2, data.consumeInt(0, 0xffff));
        return;
      }
      switch (data.consumeInt(0, 3)) {
        case 0 -> pci.configWrite(MSIX_CAP + 2, 2, data.consumeBoolean() ? 0x8000 : 0xc000);
        case 1 -> {
          long at = table.offset() + 16L * data.consumeInt(0, layout.msixVectors());
          int field = 4 * data.consumeInt(0, 3);
          pci.barWrite(layout.bar(), at + field, data.consumeBoolean() ? 4 : 8, data.consumeLong());
        }
        case 2 -> {
          int size = data.consumeBoolean() ? 4 : 8;
          checkFits(pci.barRead(layout.bar(), layout.msixPba().offset(), size), size);
        }
        default -> {
          long at = table.offset() + 16L * data.consumeInt(0, layout.msixVectors()) + 12;
          pci.barWrite(layout.bar(), at, 4, data.consumeInt(0, 1)); // mask / unmask
        }
      }
    }

    /** Absolute accesses after the guest placed the BAR (or not). */
    private void mmio() {
      lastOp = "MMIO access";
      int barReg = PciHeader.BAR0 + 4 * layout.bar();
      if (data.consumeBoolean()) {
        pci.configWrite(barReg, 4, data.consumeBoolean() ? BAR_ADDRESS : data.consumeInt());
        if (layout.width() == BarWidth.BITS_64) {
          pci.configWrite(barReg + 4, 4, data.consumeBoolean() ? 0 : data.consumeInt());
        }
      }
      long address =
          data.consumeBoolean()
              ? pci.barAddress() + data.consumeLong(-8, layout.size() + 8)
              : data.consumeLong();
      int size = width();
      if (data.consumeBoolean()) {
        checkFits(pci.mmioRead(address, size), size);
      } else {
        pci.mmioWrite(address, size, data.consumeLong());
      }
    }

    private void pciCfgOrReset() {
      if (data.consumeInt(0, 7) == 0) {
        lastOp = "function reset";
        pci.resetFunction();
        return;
      }
      lastOp = "PCI_CFG window";
      pci.configWrite(
          PCI_CFG_CAP + 4, 1, data.consumeBoolean() ? layout.bar() : data.consumeInt(0, 255));
      pci.configWrite(PCI_CFG_CAP + 8, 4, data.consumeLong(0, layout.size() + 8));
      pci.configWrite(
          PCI_CFG_CAP + 12,
          4,
          data.consumeBoolean() ? 1 << data.consumeInt(0, 2) : data.consumeInt());
      if (data.consumeBoolean()) {
        checkFits(pci.configRead(PCI_CFG_CAP + 16, 4), 4);
      } else {
        pci.configWrite(PCI_CFG_CAP + 16, 4, data.consumeInt());
      }
    }

    private static void checkFits(long value, int size) {
      if (size >= 1 && size < 8 && (value >>> (8 * size)) != 0) {
        throw new AssertionError(
            "a " + size + "-byte read returned 0x" + Long.toHexString(value) + " (wider)");
      }
    }
  }
}
