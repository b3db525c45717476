package dev.vdisk.fuzz;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import java.util.ArrayList;
import java.util.List;

/**
 * Guest memory for fuzzing whose every region sits between inaccessible guard pages.
 *
 * <p>This is the "no access outside guest memory" oracle: {@link GuestMemory} is supposed to make
 * an out-of-region host access impossible, but if any code path (a raw ring access, a copy with a
 * bad length) ever slipped past it, the access lands on a PROT_NONE page, the JVM dies with
 * SIGSEGV, and the fuzzer records the input as a crash. Regions are page-rounded and placed at the
 * END of their mapping's usable part so that an overrun of even one byte faults.
 */
final class GuardedMemory implements AutoCloseable {
  private static final int PAGE = 4096;
  private static final int PROT_NONE = 0;
  private static final int PROT_READ_WRITE = 3;
  private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;

  interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset);

    int mprotect(Pointer addr, long length, int prot);

    int munmap(Pointer addr, long length);
  }

  private final List<long[]> mappings = new ArrayList<>();
  private final GuestMemory memory;

  /**
   * @param layout pairs of (guest base, size); sizes must be multiples of the page size
   */
  GuardedMemory(long... layout) {
    List<MemoryRegion> regions = new ArrayList<>();
    for (int i = 0; i < layout.length; i += 2) {
      long base = layout[i];
      long size = layout[i + 1];
      if (size <= 0 || size % PAGE != 0) {
        throw new IllegalArgumentException("region size " + size + " (expected page multiple)");
      }
      long total = size + 2L * PAGE;
      Pointer p = LibC.INSTANCE.mmap(null, total, PROT_NONE, MAP_PRIVATE_ANONYMOUS, -1, 0);
      long address = Pointer.nativeValue(p);
      if (address == -1L) {
        throw new IllegalStateException("mmap of " + total + " bytes failed");
      }
      mappings.add(new long[] {address, total});
      if (LibC.INSTANCE.mprotect(new Pointer(address + PAGE), size, PROT_READ_WRITE) != 0) {
        throw new IllegalStateException("mprotect failed");
      }
      regions.add(MemoryRegion.wrap(base, address + PAGE, size, true, null));
    }
    memory = GuestMemory.of(regions);
  }

  GuestMemory memory() {
    return memory;
  }

  @Override
  public void close() {
    memory.close();
    for (long[] m : mappings) {
      LibC.INSTANCE.munmap(new Pointer(m[0]), m[1]);
    }
  }
}
