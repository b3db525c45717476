package dev.vdisk.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract every {@link BlockDevice} meets, as a reusable JUnit 5 test. A backend's test
 * extends this class and implements {@link #createDevice()}; JUnit then runs every test below
 * against a fresh device (closed afterwards). It lives in vdisk-api's test jar:
 *
 * <pre>{@code
 * <dependency>
 *   <groupId>dev.vdisk</groupId><artifactId>vdisk-api</artifactId>
 *   <type>test-jar</type><scope>test</scope>
 * </dependency>
 *
 * class NbdDeviceContractTest extends BlockDeviceContractTest {
 *   protected BlockDevice createDevice() throws IOException { return NbdDevice.connect(...); }
 *   protected boolean discardReadsZeroes() { return false; } // NBD_CMD_TRIM need not zero
 * }
 * }</pre>
 *
 * <p>What it checks: block-aligned writes at seeded random offsets read back exactly; unwritten
 * blocks of a fresh device read as zeroes; out-of-range disk ranges and out-of-range memory ranges
 * are refused with {@code OUT_OF_RANGE} without touching memory outside the range; flush; discard,
 * write-zeroes and secure erase either do what {@link BlockDevice#capabilities()} promises or fail
 * with {@code UNSUPPORTED}; extents cover the disk and holes read as zeroes; concurrent writers on
 * disjoint ranges; a closed device refuses I/O. A read-only device (one whose {@code isReadOnly()}
 * is true) must refuse every write-side operation with {@code READ_ONLY} and still read.
 *
 * <p>Devices should be at least 1 MiB so that the random layout has room; the random seed is
 * derived from the test class name (deterministic) and shown in every failure message.
 */
public abstract class BlockDeviceContractTest {
  private static final Set<Integer> BLOCK_SIZES = Set.of(512, 2048, 4096);

  /** The device under test; created before and closed after each test. */
  protected BlockDevice device;

  private final List<NativeBuffer> buffers = new ArrayList<>();

  /** A fresh device for one test. The test closes it. */
  protected abstract BlockDevice createDevice() throws IOException;

  /** Whether a fresh device reads as zeroes where nothing was written (true for new images). */
  protected boolean freshDeviceReadsZeroes() {
    return true;
  }

  /**
   * Whether discard makes the range read as zeroes. vdisk's own backends do; protocols such as NBD
   * allow a trimmed range to read as anything, so their tests return false.
   */
  protected boolean discardReadsZeroes() {
    return true;
  }

  /** Seed of the random layout; override to reproduce a failure with another seed. */
  protected long seed() {
    return getClass().getName().hashCode();
  }

  @BeforeEach
  final void openDevice() throws IOException {
    device = createDevice();
    assertThat(device).as("createDevice()").isNotNull();
  }

  @AfterEach
  final void closeDevice() throws IOException {
    try {
      if (device != null) {
        device.close();
      }
    } finally {
      for (NativeBuffer b : buffers) {
        b.close();
      }
      buffers.clear();
    }
  }

  /** An off-heap buffer released after the test. */
  protected NativeBuffer buffer(long capacity) {
    NativeBuffer b = new NativeBuffer(capacity);
    buffers.add(b);
    return b;
  }

  private String ctx() {
    return device + " (seed " + seed() + ")";
  }

  private int bs() {
    return device.blockSize();
  }

  @Test
  void sizeBlockSizeAndGeometryAreConsistent() {
    assertThat(BLOCK_SIZES).as("block size of %s", ctx()).contains(device.blockSize());
    assertThat(device.size()).as("size of %s", ctx()).isPositive();
    assertThat(device.size() % device.blockSize()).as("size %% block size of %s", ctx()).isZero();
    assertThat(device.geometry()).as("geometry of %s", ctx()).isNotNull();
    BlockCapabilities caps = device.capabilities();
    assertThat(caps).as("capabilities of %s", ctx()).isNotNull();
    if (device.isReadOnly()) {
      assertThat(caps.discard() || caps.writeZeroes() || caps.secureErase())
          .as("a read-only device advertises no write-side operation: %s", caps)
          .isFalse();
    }
    if (caps.discard() || caps.writeZeroes() || caps.secureErase()) {
      assertThat(caps.maxDiscardBytes()).as("maxDiscardBytes of %s", ctx()).isPositive();
      assertThat(caps.discardGranularity() % device.blockSize())
          .as("discard granularity %d is a multiple of the block size", caps.discardGranularity())
          .isZero();
    }
  }

  @Test
  void blockAlignedWritesAtRandomOffsetsReadBack() throws IOException {
    Random random = new Random(seed());
    int bs = bs();
    long blocks = device.size() / bs;
    int maxBlocks = (int) Math.min(16, blocks);
    NativeBuffer io = buffer((long) maxBlocks * bs + bs);
    if (device.isReadOnly()) {
      BlockDeviceException e =
          catchThrowableOfType(
              BlockDeviceException.class, () -> device.write(0, io.store(), 0, bs));
      assertThat(e).as("write to read-only %s", ctx()).isNotNull();
      assertThat(e.reason()).isEqualTo(Reason.READ_ONLY);
      device.read(0, io.store(), 0, bs); // reads still work
      return;
    }
    Map<Long, byte[]> written = new HashMap<>();
    List<Long> order = new ArrayList<>();
    long[] mustTouch = {0, blocks - 1};
    for (int i = 0; i < 64; i++) {
      int n = 1 + random.nextInt(maxBlocks);
      long first =
          i < mustTouch.length
              ? Math.min(mustTouch[i], blocks - n)
              : (long) (random.nextDouble() * (blocks - n + 1));
      byte[] data = new byte[n * bs];
      random.nextBytes(data);
      int storeOffset = random.nextBoolean() ? 0 : bs; // exercise a non-zero memory offset
      io.put(storeOffset, data);
      device.write(first * bs, io.store(), storeOffset, data.length);
      for (int b = 0; b < n; b++) {
        long block = first + b;
        if (written.put(block, Arrays.copyOfRange(data, b * bs, (b + 1) * bs)) == null) {
          order.add(block);
        }
      }
    }
    java.util.Collections.shuffle(order, random);
    for (long block : order) {
      io.fill(0, bs, (byte) 0x5a);
      device.read(block * bs, io.store(), 0, bs);
      assertThat(io.get(0, bs))
          .as("block %d of %s after random writes", block, ctx())
          .isEqualTo(written.get(block));
    }
    if (freshDeviceReadsZeroes()) {
      byte[] zero = new byte[bs];
      int checked = 0;
      for (int i = 0; i < 1000 && checked < 16; i++) {
        long block = (long) (random.nextDouble() * blocks);
        if (!written.containsKey(block)) {
          io.fill(0, bs, (byte) 0x5a);
          device.read(block * bs, io.store(), 0, bs);
          assertThat(io.get(0, bs)).as("unwritten block %d of %s", block, ctx()).isEqualTo(zero);
          checked++;
        }
      }
    }
  }

  @Test
  void diskRangesOutsideTheDeviceAreRefused() {
    int bs = bs();
    long size = device.size();
    NativeBuffer io = buffer(2L * bs);
    long[][] bad = {{size, bs}, {size - bs, 2L * bs}, {-bs, bs}, {Long.MAX_VALUE - bs + 1, bs}};
    for (long[] r : bad) {
      expectRefusal(
          "read " + Arrays.toString(r),
          () -> device.read(r[0], io.store(), 0, (int) r[1]),
          EnumSet.of(Reason.OUT_OF_RANGE));
      expectRefusal(
          "write " + Arrays.toString(r),
          () -> device.write(r[0], io.store(), 0, (int) r[1]),
          writeSide(Reason.OUT_OF_RANGE));
      expectRefusal(
          "discard " + Arrays.toString(r),
          () -> device.discard(r[0], r[1]),
          writeSide(Reason.OUT_OF_RANGE, Reason.UNSUPPORTED));
      expectRefusal(
          "write-zeroes " + Arrays.toString(r),
          () -> device.writeZeroes(r[0], r[1], false),
          writeSide(Reason.OUT_OF_RANGE, Reason.UNSUPPORTED));
    }
    expectRefusal(
        "extent at the end", () -> device.extent(size, bs), EnumSet.of(Reason.OUT_OF_RANGE));
    expectRefusal("extent before 0", () -> device.extent(-bs, bs), EnumSet.of(Reason.OUT_OF_RANGE));
  }

  @Test
  void memoryRangesOutsideTheStoreAreRefusedWithoutTouchingIt() throws IOException {
    int bs = bs();
    NativeBuffer io = buffer(2L * bs);
    if (!device.isReadOnly()) {
      io.fill(0, 2 * bs, (byte) 0x11);
      device.write(0, io.store(), 0, bs); // block 0 holds 0x11 so a stray read would show
    }
    io.fill(0, 2 * bs, (byte) 0x77);
    long[][] bad = {{bs + 1L, bs}, {2L * bs, bs}, {-1, bs}, {0, 2 * bs + 2}};
    for (long[] r : bad) {
      expectRefusal(
          "read into store range " + Arrays.toString(r),
          () -> device.read(0, io.store(), r[0], (int) r[1]),
          EnumSet.of(Reason.OUT_OF_RANGE));
      expectRefusal(
          "write from store range " + Arrays.toString(r),
          () -> device.write(0, io.store(), r[0], (int) r[1]),
          writeSide(Reason.OUT_OF_RANGE));
    }
    byte[] untouched = new byte[2 * bs];
    Arrays.fill(untouched, (byte) 0x77);
    assertThat(io.get(0, 2 * bs)).as("store after refused reads on %s", ctx()).isEqualTo(untouched);
  }

  @Test
  void flushSucceedsAndWrittenDataStays() throws IOException {
    int bs = bs();
    NativeBuffer io = buffer(bs);
    if (device.isReadOnly()) {
      assertThatCode(device::flush).as("flush on read-only %s", ctx()).doesNotThrowAnyException();
      return;
    }
    byte[] data = pattern(bs, 3);
    io.put(0, data);
    long offset = device.size() - bs;
    device.write(offset, io.store(), 0, bs);
    device.flush();
    io.fill(0, bs, (byte) 0);
    device.read(offset, io.store(), 0, bs);
    assertThat(io.get(0, bs)).as("last block of %s after flush", ctx()).isEqualTo(data);
  }

  @Test
  void discardDoesWhatCapabilitiesPromise() throws IOException {
    checkZeroingOperation(
        "discard", device.capabilities().discard(), discardReadsZeroes(), device::discard);
  }

  @Test
  void writeZeroesWithoutUnmapReadsZeroes() throws IOException {
    checkZeroingOperation(
        "write-zeroes",
        device.capabilities().writeZeroes(),
        true,
        (offset, length) -> device.writeZeroes(offset, length, false));
  }

  @Test
  void writeZeroesWithUnmapReadsZeroes() throws IOException {
    checkZeroingOperation(
        "write-zeroes(unmap)",
        device.capabilities().writeZeroes(),
        true,
        (offset, length) -> device.writeZeroes(offset, length, true));
  }

  @Test
  void secureEraseDoesWhatCapabilitiesPromise() throws IOException {
    checkZeroingOperation(
        "secure erase", device.capabilities().secureErase(), true, device::secureErase);
  }

  /** A range operation such as discard. */
  @FunctionalInterface
  protected interface RangeOp {
    void apply(long offset, long length) throws IOException;
  }

  /**
   * Writes three adjacent granule-aligned regions A, B, C, applies {@code op} to B, and checks B
   * reads as zeroes (when {@code zeroes}) and A and C are intact; or, when unsupported, that the op
   * fails with UNSUPPORTED (or READ_ONLY on a read-only device).
   */
  private void checkZeroingOperation(String name, boolean supported, boolean zeroes, RangeOp op)
      throws IOException {
    int bs = bs();
    long granule = Math.max(bs, device.capabilities().discardGranularity());
    // Two granules per region plus a partial granule at B's end when the device is big enough.
    long region = granule * 2;
    if (region * 3 > device.size()) {
      region = Math.max(bs, device.size() / 3 / bs * bs);
    }
    if (device.isReadOnly() || !supported) {
      // Read-only devices advertise no write-side operation (checked above), so either reason is
      // an honest answer for them.
      Set<Reason> expected = writeSide(Reason.UNSUPPORTED);
      long length = region;
      expectRefusal(name, () -> op.apply(0, length), expected);
      return;
    }
    if (region > Integer.MAX_VALUE / 2) {
      region = granule;
    }
    int r = (int) region;
    long base = device.size() >= 8 * region ? region : 0; // not at 0, when there is room
    NativeBuffer io = buffer(3L * r);
    byte[] a = pattern(r, 7);
    byte[] b = pattern(r, 8);
    byte[] c = pattern(r, 9);
    io.put(0, a).put(r, b).put(2L * r, c);
    device.write(base, io.store(), 0, 3 * r);
    op.apply(base + r, r);
    io.fill(0, 3 * r, (byte) 0x5a);
    device.read(base, io.store(), 0, 3 * r);
    assertThat(io.get(0, r)).as("region before the %s range on %s", name, ctx()).isEqualTo(a);
    assertThat(io.get(2L * r, r)).as("region after the %s range on %s", name, ctx()).isEqualTo(c);
    if (zeroes) {
      assertThat(io.get(r, r)).as("%s range on %s", name, ctx()).isEqualTo(new byte[r]);
    }
    // Writing over the range again works and reads back.
    io.put(r, b);
    device.write(base + r, io.store(), r, r);
    io.fill(r, r, (byte) 0);
    device.read(base + r, io.store(), r, r);
    assertThat(io.get(r, r)).as("rewrite after %s on %s", name, ctx()).isEqualTo(b);
  }

  @Test
  void extentsCoverTheDiskAndHolesReadAsZeroes() throws IOException {
    int bs = bs();
    long span = Math.min(device.size(), 4L << 20);
    long dataOffset = (span / 2) / bs * bs;
    NativeBuffer io = buffer(bs);
    if (!device.isReadOnly()) {
      io.put(0, pattern(bs, 11));
      device.write(dataOffset, io.store(), 0, bs);
      long run = device.extent(dataOffset, bs);
      assertThat(run)
          .as("extent of a just-written block at %d on %s", dataOffset, ctx())
          .isEqualTo(bs);
    }
    long pos = 0;
    int runs = 0;
    byte[] zero = new byte[bs];
    while (pos < span) {
      long run = device.extent(pos, span - pos);
      assertThat(Math.abs(run))
          .as("extent run at %d (of %d remaining) on %s", pos, span - pos, ctx())
          .isBetween(1L, span - pos);
      assertThat(Math.abs(run) % bs).as("extent run %d at %d is whole blocks", run, pos).isZero();
      if (run < 0) {
        device.read(pos, io.store(), 0, bs);
        assertThat(io.get(0, bs))
            .as("first block of a hole at %d on %s", pos, ctx())
            .isEqualTo(zero);
      }
      pos += Math.abs(run);
      assertThat(++runs).as("extent walk terminates").isLessThan(1 << 20);
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void concurrentWritersOnDisjointRangesAllLand() throws Exception {
    if (device.isReadOnly()) {
      return; // covered by blockAlignedWritesAtRandomOffsetsReadBack
    }
    int bs = bs();
    int threads = 4;
    int perThread = 32;
    long blocks = device.size() / bs;
    long stripe = blocks / threads;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Map<Long, byte[]>>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long stripeStart = t * stripe;
        long seed = seed() + t;
        results.add(
            pool.submit(
                () -> {
                  Random random = new Random(seed);
                  Map<Long, byte[]> mine = new HashMap<>();
                  try (NativeBuffer io = new NativeBuffer(bs)) {
                    for (int i = 0; i < perThread; i++) {
                      long block = stripeStart + (long) (random.nextDouble() * stripe);
                      byte[] data = new byte[bs];
                      random.nextBytes(data);
                      io.put(0, data);
                      device.write(block * bs, io.store(), 0, bs);
                      mine.put(block, data);
                    }
                  }
                  return mine;
                }));
      }
      NativeBuffer io = buffer(bs);
      for (Future<Map<Long, byte[]>> f : results) {
        for (Map.Entry<Long, byte[]> e : f.get(60, TimeUnit.SECONDS).entrySet()) {
          device.read(e.getKey() * bs, io.store(), 0, bs);
          assertThat(io.get(0, bs))
              .as("block %d written concurrently on %s", e.getKey(), ctx())
              .isEqualTo(e.getValue());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void closedDeviceRefusesIoAndClosesTwiceQuietly() throws IOException {
    int bs = bs();
    NativeBuffer io = buffer(bs);
    device.close();
    IOException e =
        catchThrowableOfType(IOException.class, () -> device.read(0, io.store(), 0, bs));
    assertThat(e).as("read after close on %s", ctx()).isNotNull();
    assertThatCode(device::close).as("second close on %s", ctx()).doesNotThrowAnyException();
  }

  /** Bytes that differ per position and per {@code salt}, never all zero. */
  protected static byte[] pattern(int length, int salt) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (i * 31 + salt * 17 + (i >>> 8) + 1);
    }
    return b;
  }

  /**
   * Reasons a write-side refusal may carry: the given ones, plus READ_ONLY on read-only devices.
   */
  private Set<Reason> writeSide(Reason first, Reason... rest) {
    EnumSet<Reason> s = EnumSet.of(first, rest);
    if (device.isReadOnly()) {
      s.add(Reason.READ_ONLY);
    }
    return s;
  }

  /** An I/O call that must fail. */
  @FunctionalInterface
  protected interface IoCall {
    void run() throws IOException;
  }

  /** Asserts {@code call} throws a {@link BlockDeviceException} with one of {@code reasons}. */
  protected void expectRefusal(String what, IoCall call, Set<Reason> reasons) {
    BlockDeviceException e;
    try {
      call.run();
      throw new AssertionError(
          what + " on " + ctx() + " succeeded (expected one of " + reasons + ")");
    } catch (BlockDeviceException thrown) {
      e = thrown;
    } catch (IOException | RuntimeException other) {
      throw new AssertionError(
          what
              + " on "
              + ctx()
              + " threw "
              + other
              + " (expected BlockDeviceException "
              + reasons
              + ")",
          other);
    }
    assertThat(reasons)
        .as("%s on %s refused with %s: %s", what, ctx(), e.reason(), e.getMessage())
        .contains(e.reason());
  }
}
