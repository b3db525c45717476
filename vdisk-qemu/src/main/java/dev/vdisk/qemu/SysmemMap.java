package dev.vdisk.qemu;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.Posix.FileStat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The guest-RAM view rebuilt from SYNC_SYSMEM. QEMU sends the whole map each time (22 times in a
 * SeaBIOS boot, hundreds in an OVMF run), always as fresh dups of the same memfd, so each file is
 * mapped once, whole, keyed by (st_dev, st_ino, st_size), and every later map that names it reuses
 * that mapping: a sync costs a few fstat calls, no mmap.
 *
 * <p>A file that drops out of the map is not unmapped at once: the device may still hold the
 * previous {@link GuestMemory} (taken at DRIVER_OK) and an access through it must never fault the
 * JVM. Its range is replaced in place by unreserved anonymous memory (the file is released, the
 * addresses stay valid and read as zeroes) and truly unmapped at the next DEVICE_RESET or at close,
 * when no device holds memory any more. At most {@link #MAX_RETIRED} such ranges are kept; a peer
 * that would exceed that is refused.
 *
 * <p>The caller keeps ownership of the fds (a mapping holds its own reference to the file).
 */
final class SysmemMap implements AutoCloseable {
  /**
   * Largest file mapped: far above any guest RAM this proxy can carry (it must sit below 4 GiB).
   */
  static final long MAX_FILE_SIZE = 1L << 40;

  static final int MAX_RETIRED = 32;

  private record Key(long dev, long ino, long size) {}

  private record Mapping(long address, long length) {}

  private final Map<Key, Mapping> mappings = new HashMap<>();
  private final List<Mapping> retired = new ArrayList<>();
  private GuestMemory current;

  /** The current guest-RAM view, or null before the first accepted SYNC_SYSMEM. */
  GuestMemory current() {
    return current;
  }

  int mappingCount() {
    return mappings.size();
  }

  int retiredCount() {
    return retired.size();
  }

  /**
   * Replaces the map with {@code count} entries: fd {@code fds[i]} mapped at {@code gpas[i]} for
   * {@code sizes[i]} bytes from file offset {@code offsets[i]}. On refusal nothing changes.
   */
  GuestMemory sync(int[] fds, int count, long[] gpas, long[] sizes, long[] offsets)
      throws SysmemException {
    if (count < 1) {
      throw new SysmemException("SYNC_SYSMEM without memory fds");
    }
    checkRanges(count, gpas, sizes, offsets);
    Key[] keys = new Key[count];
    FileStat[] stats = new FileStat[count];
    for (int i = 0; i < count; i++) {
      FileStat st;
      try {
        st = Posix.fstat(fds[i]);
      } catch (IOException e) {
        throw new SysmemException("region " + i + ": " + e.getMessage(), e);
      }
      if (!st.isRegularFile()) {
        throw new SysmemException(
            String.format(
                "region %d: fd %d is not a memory file (mode 0%o)", i, fds[i], st.mode()));
      }
      if (st.size() <= 0 || st.size() > MAX_FILE_SIZE) {
        throw new SysmemException(
            "region "
                + i
                + ": file of "
                + st.size()
                + " bytes (expected 1.."
                + MAX_FILE_SIZE
                + ")");
      }
      // Beyond the end of the file an access raises SIGBUS, which would take the JVM down.
      if (offsets[i] > st.size() || sizes[i] > st.size() - offsets[i]) {
        throw new SysmemException(
            String.format(
                "region %d: file range [0x%x, +0x%x) beyond the end of its file (0x%x bytes)",
                i, offsets[i], sizes[i], st.size()));
      }
      keys[i] = new Key(st.dev(), st.ino(), st.size());
      stats[i] = st;
    }
    List<Key> stale = new ArrayList<>();
    for (Key k : mappings.keySet()) {
      if (!Arrays.asList(keys).contains(k)) {
        stale.add(k);
      }
    }
    if (retired.size() + stale.size() > MAX_RETIRED) {
      throw new SysmemException(
          "SYNC_SYSMEM would retire "
              + stale.size()
              + " more mapped files ("
              + retired.size()
              + " already retired, at most "
              + MAX_RETIRED
              + " until the next DEVICE_RESET)");
    }
    List<Key> created = new ArrayList<>();
    List<MemoryRegion> regions = new ArrayList<>(count);
    try {
      for (int i = 0; i < count; i++) {
        Mapping m = mappings.get(keys[i]);
        if (m == null) {
          long address = Posix.mapShared(fds[i], 0, stats[i].size());
          m = new Mapping(address, stats[i].size());
          mappings.put(keys[i], m);
          created.add(keys[i]);
        }
        regions.add(MemoryRegion.wrap(gpas[i], m.address() + offsets[i], sizes[i], true, null));
      }
    } catch (IOException | RuntimeException e) {
      for (Key k : created) {
        Mapping m = mappings.remove(k);
        Posix.unmap(m.address(), m.length());
      }
      throw new SysmemException("mapping guest RAM failed: " + e.getMessage(), e);
    }
    GuestMemory memory = GuestMemory.of(regions);
    for (Key k : stale) {
      Mapping m = mappings.remove(k);
      try {
        Posix.replaceWithAnonymous(m.address(), m.length());
        retired.add(m);
      } catch (IOException e) {
        // Could not swap the file out: keep it mapped (a leak of one mapping until close beats a
        // fault if the device still reads through it).
        retired.add(m);
      }
    }
    current = memory;
    return memory;
  }

  private static void checkRanges(int count, long[] gpas, long[] sizes, long[] offsets)
      throws SysmemException {
    Integer[] order = new Integer[count];
    for (int i = 0; i < count; i++) {
      order[i] = i;
      if (sizes[i] == 0) {
        throw new SysmemException(String.format("region %d at gpa 0x%x has size 0", i, gpas[i]));
      }
      if (sizes[i] < 0 || offsets[i] < 0) {
        throw new SysmemException(
            String.format(
                "region %d: size 0x%x, file offset 0x%x (expected both in 0..2^63)",
                i, sizes[i], offsets[i]));
      }
      if (Long.compareUnsigned(gpas[i] + sizes[i] - 1, gpas[i]) < 0) {
        throw new SysmemException(
            String.format(
                "region %d: gpa 0x%x + size 0x%x wraps past the top of the address space",
                i, gpas[i], sizes[i]));
      }
    }
    Arrays.sort(order, (a, b) -> Long.compareUnsigned(gpas[a], gpas[b]));
    for (int k = 1; k < count; k++) {
      int prev = order[k - 1];
      int next = order[k];
      if (Long.compareUnsigned(gpas[next], gpas[prev] + sizes[prev] - 1) <= 0) {
        throw new SysmemException(
            String.format(
                "regions %d [0x%x, +0x%x) and %d [0x%x, +0x%x) overlap",
                prev, gpas[prev], sizes[prev], next, gpas[next], sizes[next]));
      }
    }
  }

  /**
   * Unmaps the ranges retired since the last call. Only safe when nothing holds a {@link
   * GuestMemory} older than {@link #current()} (after the function was reset).
   */
  void releaseRetired() {
    for (Iterator<Mapping> it = retired.iterator(); it.hasNext(); ) {
      Mapping m = it.next();
      Posix.unmap(m.address(), m.length());
      it.remove();
    }
  }

  @Override
  public void close() {
    releaseRetired();
    for (Mapping m : mappings.values()) {
      Posix.unmap(m.address(), m.length());
    }
    mappings.clear();
    current = null;
  }
}
