package dev.vdisk.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Fuzzes the split-queue chain walker and the virtio-blk request parser together: the fuzzer writes
 * the descriptor table, the available ring and the request headers/data a hostile guest would, then
 * kicks the queue.
 *
 * <p>Oracles beyond "nothing is thrown into the VMM": every region sits between guard pages (an
 * out-of-bounds host access kills the run); the device never publishes more used entries than the
 * guest made available nor more than the queue holds; every used id names a descriptor of the
 * table; and a second kick with nothing new does no further work (no chain is re-parsed forever).
 */
class VirtioBlkFuzzTest {
  private static final long RING_REGION = 0x10000;
  private static final long RING_REGION_SIZE = 0x10000;
  private static final long DESC = RING_REGION;
  private static final long AVAIL = RING_REGION + 0x1000;
  private static final long USED = RING_REGION + 0x2000;
  private static final long DATA = RING_REGION + 0x3000;
  private static final long DATA_SIZE = RING_REGION_SIZE - 0x3000;
  private static final long SECOND_REGION = 0x40000;
  private static final long SECOND_REGION_SIZE = 0x4000;
  private static final int DISK_BYTES = 256 << 10;
  private static final int SECTOR = 512;

  /**
   * Heap bytes two kicks may make the device allocate, whatever the rings say: the request path
   * allocates nothing per request (guest errors are counted, and their log lines are bounded by the
   * queue size), so a guest-declared length or count driving an allocation exceeds this at once.
   */
  private static final long KICK_BUDGET = 1 << 20;

  /**
   * Heap bytes one activation may allocate: per-queue state sized by the queue size (at most the
   * device's maximum, 256 here) and the device's own limits, never by ring contents.
   */
  private static final long ACTIVATION_BUDGET = 16 << 20;

  /** What the disk holds before each input: every byte different from its neighbours' sector. */
  private static final byte[] PATTERN = new byte[DISK_BYTES];

  private static final BytesStore<?, Void> PATTERN_STORE =
      BytesStore.nativeStoreWithFixedCapacity(DISK_BYTES);
  private static final BytesStore<?, Void> DISK_COPY =
      BytesStore.nativeStoreWithFixedCapacity(DISK_BYTES);
  private static final byte[] SHADOW = new byte[DISK_BYTES];
  private static final byte[] DISK_SCRATCH = new byte[DISK_BYTES];
  private static final AllocationBudget ALLOCATION = new AllocationBudget(KICK_BUDGET);
  private static final AllocationBudget ACTIVATION = new AllocationBudget(ACTIVATION_BUDGET);

  static {
    for (int i = 0; i < DISK_BYTES; i++) {
      PATTERN[i] = (byte) (i * 7 + (i >>> 9) * 13 + 1);
      PATTERN_STORE.writeByte(i, PATTERN[i]);
    }
  }

  private static final class CountingNotifier implements DeviceNotifier {
    int used;
    int config;
    String resetReason;

    @Override
    public void usedBuffers(int queue) {
      used++;
    }

    @Override
    public void configChanged() {
      config++;
    }

    @Override
    public void needsReset(String reason) {
      resetReason = reason;
    }
  }

  @FuzzTest(maxDuration = "30s")
  void hostileRings(FuzzedDataProvider data) throws Exception {
    int sizeLog = data.consumeInt(0, 8);
    int size = 1 << sizeLog;
    int featureChoice = data.consumeInt();
    boolean discard = data.consumeBoolean();
    try (GuardedMemory guarded =
            new GuardedMemory(RING_REGION, RING_REGION_SIZE, SECOND_REGION, SECOND_REGION_SIZE);
        RamDisk disk = RamDisk.create(DISK_BYTES)) {
      GuestMemory mem = guarded.memory();
      disk.write(0, PATTERN_STORE, 0, DISK_BYTES);
      System.arraycopy(PATTERN, 0, SHADOW, 0, DISK_BYTES);
      int availIdx;
      if (data.consumeInt(0, 2) < 2) {
        // Two inputs in three: well-formed requests with fuzzer-chosen fields and corruptions.
        availIdx =
            RequestRingWriter.write(
                data, mem, DESC, AVAIL, size, DATA, DATA_SIZE, DISK_BYTES / SECTOR);
      } else {
        // The rest: descriptor table, avail ring and buffer bytes straight from the fuzzer.
        writeDescriptors(data, mem, size);
        availIdx = writeAvailRing(data, mem, size);
        byte[] payload = data.consumeBytes((int) DATA_SIZE);
        mem.write(DATA, payload, 0, payload.length);
      }
      byte[] second = data.consumeRemainingAsBytes();
      mem.write(SECOND_REGION, second, 0, Math.min(second.length, (int) SECOND_REGION_SIZE));

      VirtioBlkDevice device =
          VirtioBlkDevice.builder(disk)
              .queueSize(256)
              .discard(discard)
              .writeZeroes(discard)
              .secureErase(discard)
              .build();
      long features = device.deviceFeatures() & (featureChoice | VirtioFeatures.bit(32));
      if (device.validateFeatures(features) != null) {
        features = device.deviceFeatures();
      }
      CountingNotifier notifier = new CountingNotifier();
      CompletedRequestOracle oracle =
          new CompletedRequestOracle(mem, DESC, AVAIL, USED, size, SHADOW);
      List<QueueSetup> queues = List.of(new QueueSetup(0, size, DESC, AVAIL, USED, 0, 0));
      ACTIVATION.start();
      device.activate(features, mem, queues, notifier);
      ACTIVATION.check("activation");
      ALLOCATION.start();
      device.queueNotified(0);
      int usedAfterFirst = mem.u16(USED + 2);
      device.queueNotified(0);
      int usedAfterSecond = mem.u16(USED + 2);
      ALLOCATION.check("two kicks");

      int availDistance = availIdx & 0xffff;
      int usedDistance = usedAfterSecond & 0xffff;
      if (usedDistance > size) {
        throw new AssertionError("used idx " + usedDistance + " passed the queue size " + size);
      }
      if (availDistance <= size && usedDistance > availDistance) {
        throw new AssertionError("used idx " + usedDistance + " passed avail idx " + availDistance);
      }
      if (usedAfterSecond != usedAfterFirst) {
        throw new AssertionError(
            "a second kick with nothing new completed "
                + ((usedAfterSecond - usedAfterFirst) & 0xffff)
                + " more chains");
      }
      for (int i = 0; i < usedDistance; i++) {
        long id = mem.u32(USED + 4 + 8L * (i % size));
        if (id >= size) {
          throw new AssertionError("used entry " + i + " names descriptor " + id);
        }
      }
      oracle.check(disk, DISK_COPY, DISK_SCRATCH, usedDistance);
      long internal = device.stats().internalErrors();
      if (internal != 0) {
        throw new AssertionError(internal + " device bugs were contained (must be 0)");
      }
      device.reset();
    }
    if ((CompletedRequestOracle.inputs & 0xfff) == 0) {
      System.err.printf(
          "oracle: %d inputs, %d judged, %d IN compared, %d OUT applied, %d disks compared,"
              + " worst allocation %d bytes per two kicks (%d inputs loaded classes),"
              + " %d per activation%n",
          CompletedRequestOracle.inputs,
          CompletedRequestOracle.judged,
          CompletedRequestOracle.inChecked,
          CompletedRequestOracle.outApplied,
          CompletedRequestOracle.diskCompared,
          ALLOCATION.worst(),
          ALLOCATION.skipped(),
          ACTIVATION.worst());
    }
  }

  /** Descriptors pointing mostly into mapped memory (so parsing goes deep), sometimes anywhere. */
  private static void writeDescriptors(FuzzedDataProvider data, GuestMemory mem, int size) {
    int count = data.consumeInt(0, size);
    for (int i = 0; i < count; i++) {
      long addr =
          switch (data.consumeInt(0, 3)) {
            case 0 -> DATA + data.consumeLong(0, DATA_SIZE);
            case 1 -> SECOND_REGION + data.consumeLong(0, SECOND_REGION_SIZE);
            case 2 -> DESC + 16L * data.consumeInt(0, size);
            default -> data.consumeLong();
          };
      long len =
          data.consumeBoolean() ? data.consumeInt(0, 0x2000) : data.consumeInt() & 0xffff_ffffL;
      int flags = data.consumeInt(0, 7);
      int next = data.consumeBoolean() ? data.consumeInt(0, size - 1) : data.consumeInt(0, 0xffff);
      long d = DESC + 16L * i;
      mem.putU64(d, addr);
      mem.putU32(d + 8, len);
      mem.putU16(d + 12, flags);
      mem.putU16(d + 14, next);
    }
  }

  private static int writeAvailRing(FuzzedDataProvider data, GuestMemory mem, int size) {
    int flags = data.consumeInt(0, 1);
    int idx = data.consumeBoolean() ? data.consumeInt(0, size) : data.consumeInt(0, 0xffff);
    mem.putU16(AVAIL, flags);
    mem.putU16(AVAIL + 2, idx);
    int entries = Math.min(size, data.consumeInt(0, size));
    for (int i = 0; i < entries; i++) {
      int head = data.consumeBoolean() ? data.consumeInt(0, size - 1) : data.consumeInt(0, 0xffff);
      mem.putU16(AVAIL + 4 + 2L * i, head);
    }
    return idx;
  }
}
