package dev.vdisk.vhost;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.vhost.natives.Fds;
import dev.vdisk.vhost.natives.MemoryMapping;
import dev.vdisk.vhost.natives.NativeException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The front end's guest memory as vdisk mapped it: regions from SET_MEM_TABLE or ADD_MEM_REG, each
 * an mmap of the descriptor the front end sent. Translates the front end's own (user) addresses,
 * which SET_VRING_ADDR uses, to guest-physical ones, and builds the {@link GuestMemory} the device
 * reads and writes.
 *
 * <p>Every region is validated before anything is mapped: non-zero size, no 64-bit wrap-around of
 * guest, user or file ranges, no overlap with another region in guest-physical or user space, and
 * the file must be a regular file at least {@code mmap_offset + size} long (mapping past its end
 * would turn the first access into SIGBUS, which kills the JVM). Not thread-safe: owned by the
 * connection thread.
 */
final class MemoryTable implements AutoCloseable {

  /** A region as the front end described it. */
  record RegionSpec(long guestAddress, long size, long userAddress, long mmapOffset) {
    @Override
    public String toString() {
      return String.format(
          "region gpa 0x%x size 0x%x uva 0x%x offset 0x%x",
          guestAddress, size, userAddress, mmapOffset);
    }
  }

  /** A mapped region. */
  private record Region(RegionSpec spec, MemoryMapping mapping) {}

  private final int maxRegions;
  private final List<Region> regions = new ArrayList<>();

  MemoryTable(int maxRegions) {
    this.maxRegions = maxRegions;
  }

  int size() {
    return regions.size();
  }

  boolean isEmpty() {
    return regions.isEmpty();
  }

  /**
   * Replaces the whole table (SET_MEM_TABLE). Takes ownership of {@code fds} (one per spec, in
   * order) and closes them. On any error nothing changes and every new mapping is undone.
   */
  void replace(List<RegionSpec> specs, int[] fds) throws VhostUserProtocolException {
    try {
      if (specs.size() > maxRegions) {
        throw new VhostUserProtocolException(
            specs.size() + " memory regions (expected: at most " + maxRegions + ")");
      }
      for (int i = 0; i < specs.size(); i++) {
        validate(specs.get(i), specs.subList(0, i));
      }
      List<Region> mapped = new ArrayList<>(specs.size());
      try {
        for (int i = 0; i < specs.size(); i++) {
          mapped.add(new Region(specs.get(i), map(specs.get(i), fds[i])));
        }
      } catch (VhostUserProtocolException e) {
        mapped.forEach(r -> r.mapping().close());
        throw e;
      }
      unmapAll();
      regions.addAll(mapped);
      regions.sort(Comparator.comparing(r -> r.spec().guestAddress(), Long::compareUnsigned));
    } finally {
      Fds.closeAll(fds);
    }
  }

  /** Adds one region (ADD_MEM_REG); takes ownership of {@code fd}. */
  void add(RegionSpec spec, int fd) throws VhostUserProtocolException {
    try {
      if (regions.size() >= maxRegions) {
        throw new VhostUserProtocolException(
            "ADD_MEM_REG beyond the " + maxRegions + " memory slots vdisk offered: " + spec);
      }
      validate(spec, specs());
      regions.add(new Region(spec, map(spec, fd)));
      regions.sort(Comparator.comparing(r -> r.spec().guestAddress(), Long::compareUnsigned));
    } finally {
      Fds.closeQuietly(fd);
    }
  }

  /**
   * Removes the region with the same guest address, user address and size (REM_MEM_REG; the mmap
   * offset is ignored, as the protocol says). Unmaps it.
   */
  void remove(RegionSpec spec) throws VhostUserProtocolException {
    for (int i = 0; i < regions.size(); i++) {
      RegionSpec r = regions.get(i).spec();
      if (r.guestAddress() == spec.guestAddress()
          && r.userAddress() == spec.userAddress()
          && r.size() == spec.size()) {
        regions.remove(i).mapping().close();
        return;
      }
    }
    throw new VhostUserProtocolException(
        "REM_MEM_REG of a region that is not mapped: " + spec + " (mapped: " + describe() + ")");
  }

  private List<RegionSpec> specs() {
    List<RegionSpec> l = new ArrayList<>(regions.size());
    regions.forEach(r -> l.add(r.spec()));
    return l;
  }

  private static void validate(RegionSpec s, List<RegionSpec> others)
      throws VhostUserProtocolException {
    if (s.size() == 0) {
      throw new VhostUserProtocolException("zero-size memory " + s);
    }
    if (wraps(s.guestAddress(), s.size())) {
      throw new VhostUserProtocolException(
          "memory " + s + " wraps past the end of guest-physical address space");
    }
    if (wraps(s.userAddress(), s.size())) {
      throw new VhostUserProtocolException(
          "memory " + s + " wraps past the end of the front end's address space");
    }
    if (s.mmapOffset() < 0 || s.size() < 0 || s.mmapOffset() > Long.MAX_VALUE - s.size()) {
      throw new VhostUserProtocolException(
          "memory " + s + " has a file range beyond 2^63 (offset + size overflows)");
    }
    for (RegionSpec o : others) {
      if (overlaps(s.guestAddress(), s.size(), o.guestAddress(), o.size())) {
        throw new VhostUserProtocolException(
            "memory " + s + " overlaps " + o + " in guest-physical space");
      }
      if (overlaps(s.userAddress(), s.size(), o.userAddress(), o.size())) {
        throw new VhostUserProtocolException(
            "memory " + s + " overlaps " + o + " in the front end's address space");
      }
    }
  }

  private static MemoryMapping map(RegionSpec s, int fd) throws VhostUserProtocolException {
    try {
      Fds.FileStat st = Fds.stat(fd);
      if (!st.isRegularFile()) {
        throw new VhostUserProtocolException(
            "memory "
                + s
                + " comes with fd "
                + fd
                + " that is not a regular file (mode 0"
                + Integer.toOctalString(st.mode())
                + "; expected a memfd, tmpfs or hugetlbfs file)");
      }
      if (Long.compareUnsigned(s.mmapOffset() + s.size(), st.size()) > 0) {
        throw new VhostUserProtocolException(
            "memory "
                + s
                + " ends past the end of its file ("
                + st.size()
                + " bytes); mapping it would fault on access");
      }
      return MemoryMapping.map(fd, s.mmapOffset(), s.size(), true);
    } catch (NativeException e) {
      throw new VhostUserProtocolException("cannot map memory " + s + ": " + e.getMessage(), e);
    }
  }

  /** True when [base, base+size) runs past 2^64 (size > 0, unsigned). */
  private static boolean wraps(long base, long size) {
    return Long.compareUnsigned(size - 1, -1L - base) > 0;
  }

  private static boolean overlaps(long a, long aSize, long b, long bSize) {
    // Unsigned: a < b + bSize && b < a + aSize, phrased with last bytes to stay overflow-free.
    long aLast = a + aSize - 1;
    long bLast = b + bSize - 1;
    return Long.compareUnsigned(a, bLast) <= 0 && Long.compareUnsigned(b, aLast) <= 0;
  }

  /**
   * Guest-physical address of the front end's user address {@code uva}, or throws naming the mapped
   * ranges. Only the first byte must be mapped here; whole-structure checks happen against the
   * guest memory once the ring's size is known.
   */
  long userToGuest(long uva, String what) throws VhostUserProtocolException {
    for (Region r : regions) {
      RegionSpec s = r.spec();
      long off = uva - s.userAddress();
      if (Long.compareUnsigned(uva, s.userAddress()) >= 0
          && Long.compareUnsigned(off, s.size()) < 0) {
        return s.guestAddress() + off;
      }
    }
    throw new VhostUserProtocolException(
        String.format(
            "%s user address 0x%x is in no memory region (mapped: %s)", what, uva, describe()));
  }

  /**
   * A {@link GuestMemory} over the current mappings (zero-copy). Valid until the table changes or
   * closes; the caller must stop using it before then.
   */
  GuestMemory guestMemory() {
    List<MemoryRegion> l = new ArrayList<>(regions.size());
    for (Region r : regions) {
      l.add(
          MemoryRegion.wrap(
              r.spec().guestAddress(), r.mapping().address(), r.spec().size(), true, null));
    }
    return GuestMemory.of(l);
  }

  String describe() {
    if (regions.isEmpty()) {
      return "none";
    }
    StringBuilder b = new StringBuilder();
    for (Region r : regions) {
      RegionSpec s = r.spec();
      if (b.length() > 0) {
        b.append(", ");
      }
      b.append(
          String.format(
              "gpa 0x%x..0x%x uva 0x%x",
              s.guestAddress(), s.guestAddress() + s.size() - 1, s.userAddress()));
    }
    return b.toString();
  }

  private void unmapAll() {
    regions.forEach(r -> r.mapping().close());
    regions.clear();
  }

  @Override
  public void close() {
    unmapAll();
  }
}
