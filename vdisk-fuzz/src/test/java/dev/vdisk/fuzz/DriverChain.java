package dev.vdisk.fuzz;

import dev.vdisk.api.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * A split-ring descriptor chain as the driver laid it out, walked independently of vdisk's own
 * chain walker so that the fuzz oracles do not trust the code they judge. Framing-agnostic: the
 * request is the concatenation of the device-readable buffers followed by the device-writable ones.
 *
 * <p>Deliberately stricter than the device: anything irregular (a loop, {@code next} out of range,
 * INDIRECT with NEXT or nested, a bad indirect length, a zero-length or unmapped buffer, readable
 * after writable, too many buffers) yields {@code null}, and the oracles then stop judging bytes
 * for that execution rather than guess what the device should have done.
 */
final class DriverChain {
  static final int DESC_SIZE = 16;
  static final int F_NEXT = 1;
  static final int F_WRITE = 2;
  static final int F_INDIRECT = 4;
  private static final int MAX_BUFFERS = 64;
  private static final long MAX_BYTES = 1 << 20;

  /** One buffer: guest address, length, device-writable. */
  record Buffer(long addr, long len, boolean writable) {
    boolean overlaps(long a, long l) {
      return addr < a + l && a < addr + len;
    }
  }

  final List<Buffer> buffers = new ArrayList<>();

  /** Indirect tables the chain used, as {addr, len}: structures no request may overwrite. */
  final List<long[]> tables = new ArrayList<>();

  private DriverChain() {}

  /** The chain starting at {@code head} of the table at {@code desc}, or null if irregular. */
  static DriverChain walk(GuestMemory mem, long desc, int size, int head) {
    DriverChain c = new DriverChain();
    return c.walkTable(mem, desc, size, head, true) ? c : null;
  }

  private boolean walkTable(GuestMemory mem, long table, int entries, int i, boolean top) {
    for (int steps = 0; ; steps++) {
      if (i < 0 || i >= entries || steps >= entries || buffers.size() >= MAX_BUFFERS) {
        return false;
      }
      long d = table + (long) DESC_SIZE * i;
      long addr = mem.u64(d);
      long len = mem.u32(d + 8);
      int flags = mem.u16(d + 12);
      int next = mem.u16(d + 14);
      if ((flags & F_INDIRECT) != 0) {
        if (!top || (flags & F_NEXT) != 0 || len == 0 || len % DESC_SIZE != 0) {
          return false;
        }
        if (mem.regionIndex(addr, len) < 0) {
          return false;
        }
        tables.add(new long[] {addr, len});
        return walkTable(mem, addr, (int) (len / DESC_SIZE), 0, false);
      }
      boolean writable = (flags & F_WRITE) != 0;
      if (len == 0 || mem.regionIndex(addr, len) < 0 || totalBytes() + len > MAX_BYTES) {
        return false;
      }
      if (!writable && !buffers.isEmpty() && buffers.get(buffers.size() - 1).writable()) {
        return false;
      }
      buffers.add(new Buffer(addr, len, writable));
      if ((flags & F_NEXT) == 0) {
        return true;
      }
      i = next;
    }
  }

  private long totalBytes() {
    long t = 0;
    for (Buffer b : buffers) {
      t += b.len();
    }
    return t;
  }

  /** The device-readable (false) or device-writable (true) bytes, concatenated. */
  byte[] bytes(GuestMemory mem, boolean writable) {
    long n = 0;
    for (Buffer b : buffers) {
      if (b.writable() == writable) {
        n += b.len();
      }
    }
    byte[] out = new byte[(int) n];
    int at = 0;
    for (Buffer b : buffers) {
      if (b.writable() == writable) {
        mem.read(b.addr(), out, at, (int) b.len());
        at += (int) b.len();
      }
    }
    return out;
  }

  boolean writesInto(long addr, long len) {
    for (Buffer b : buffers) {
      if (b.writable() && b.overlaps(addr, len)) {
        return true;
      }
    }
    return false;
  }

  /** True if any buffer of this chain overlaps a device-writable buffer of {@code other}. */
  boolean touchesWritableOf(DriverChain other) {
    for (Buffer b : buffers) {
      if (other.writesInto(b.addr(), b.len())) {
        return true;
      }
    }
    return false;
  }

  /** True if the chain's own buffers overlap where at least one of them is device-writable. */
  boolean selfOverlapping() {
    for (int i = 0; i < buffers.size(); i++) {
      for (int j = i + 1; j < buffers.size(); j++) {
        Buffer a = buffers.get(i);
        Buffer b = buffers.get(j);
        if ((a.writable() || b.writable()) && a.overlaps(b.addr(), b.len())) {
          return true;
        }
      }
    }
    return false;
  }
}
