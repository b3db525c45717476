package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.backend.RamDisk;
import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What {@link GuestMemory}'s bounds checks cost: each primitive the hot loop uses, once through
 * {@code GuestMemory} and once as raw Chronicle access to the same bytes ({@code raw*}: {@link
 * UnsafeMemory} on the host address; {@code store*}: the region's {@link BytesStore} random access,
 * which is not bounds-checked either).
 *
 * <p>Addresses walk over 256 descriptors so that the JIT cannot hoist the load out of the loop.
 * With {@code regions > 1} the guest address space has that many regions (like a VMM's RAM below
 * and above the PCI hole) and the data sits in the last one, so the binary search is paid.
 */
@State(Scope.Thread)
public class GuestMemoryBench extends BenchBase {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final long REGION_SIZE = 1L << 20;
  private static final long REGION_STRIDE = 1L << 32;
  private static final int COPY = 4096;

  @Param({"1", "3"})
  public int regions;

  private GuestMemory memory;
  private BytesStore<?, ?> store;
  private long guestBase;
  private long hostBase;
  private BytesStore<?, Void> target;
  private long targetAddress;
  private RamDisk disk;
  private int index;

  @Setup
  public void setUp() throws IOException {
    List<MemoryRegion> list = new ArrayList<>();
    for (int i = 0; i < regions; i++) {
      list.add(MemoryRegion.allocate(i * REGION_STRIDE, REGION_SIZE));
    }
    memory = GuestMemory.of(list);
    MemoryRegion last = memory.region(regions - 1);
    store = last.store();
    guestBase = last.guestBase();
    hostBase = last.hostAddress();
    for (long i = 0; i < REGION_SIZE; i += 8) {
      memory.putU64(guestBase + i, i * 0x9E3779B97F4A7C15L);
    }
    target = BytesStore.nativeStoreWithFixedCapacity(COPY);
    target.zeroOut(0, COPY);
    targetAddress = target.addressForWrite(0);
    disk = RamDisk.create(Workload.DISK_BYTES);
    disk.write(0, store, 0, COPY);
  }

  @TearDown
  public void tearDown() throws IOException {
    memory.close();
    target.releaseLast();
    disk.close();
  }

  private long nextDescriptor() {
    int i = index;
    index = (i + 1) & 255;
    return (long) i << 4;
  }

  // -- 16-byte descriptor: addr u64, len u32, flags u16, next u16 ----------------------------

  @Benchmark
  public long descriptorGuestMemory() {
    long gpa = guestBase + nextDescriptor();
    GuestMemory m = memory;
    return m.u64(gpa) ^ m.u32(gpa + 8) ^ m.u16(gpa + 12) ^ ((long) m.u16(gpa + 14) << 16);
  }

  @Benchmark
  public long descriptorRaw() {
    long address = hostBase + nextDescriptor();
    return MEMORY.readLong(address)
        ^ (MEMORY.readInt(address + 8) & 0xffff_ffffL)
        ^ (MEMORY.readShort(address + 12) & 0xffff)
        ^ ((long) (MEMORY.readShort(address + 14) & 0xffff) << 16);
  }

  @Benchmark
  public long descriptorStore() {
    long offset = nextDescriptor();
    BytesStore<?, ?> s = store;
    return s.readLong(offset)
        ^ (s.readInt(offset + 8) & 0xffff_ffffL)
        ^ (s.readShort(offset + 12) & 0xffff)
        ^ ((long) (s.readShort(offset + 14) & 0xffff) << 16);
  }

  // -- ring indices: acquire load, release store -------------------------------------------

  @Benchmark
  public int lvU16GuestMemory() {
    return memory.lvU16(guestBase + nextDescriptor());
  }

  @Benchmark
  public int lvU16Raw() {
    return MEMORY.readVolatileShort(hostBase + nextDescriptor()) & 0xffff;
  }

  @Benchmark
  public void soU16GuestMemory() {
    long offset = nextDescriptor();
    memory.soU16(guestBase + offset, (int) offset);
  }

  @Benchmark
  public void soU16Raw() {
    long offset = nextDescriptor();
    VarHandle.releaseFence();
    MEMORY.writeShort(hostBase + offset, (short) offset);
  }

  // -- 4 KiB copies ----------------------------------------------------------------------

  @Benchmark
  public void copy4kGuestMemory() {
    memory.copyTo(guestBase + (nextDescriptor() << 4 & (REGION_SIZE / 2 - 1)), target, 0, COPY);
  }

  @Benchmark
  public void copy4kRaw() {
    MEMORY.copyMemory(
        hostBase + (nextDescriptor() << 4 & (REGION_SIZE / 2 - 1)), targetAddress, COPY);
  }

  /** RAM disk read of 4 KiB into guest memory (chunk lookup and its lock included). */
  @Benchmark
  public void copy4kRamDisk() throws IOException {
    disk.read(0, store, nextDescriptor() << 4 & (REGION_SIZE / 2 - 1), COPY);
  }
}
