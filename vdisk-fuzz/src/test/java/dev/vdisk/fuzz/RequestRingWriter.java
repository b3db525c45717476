package dev.vdisk.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.vdisk.api.GuestMemory;

/**
 * The driver side of a split ring, steered by the fuzzer: writes mostly well-formed virtio-blk
 * requests (every type, fuzzer-chosen sectors, lengths, segment counts, directions, indirect
 * tables, status sharing the last data buffer) and makes them available, then lets the fuzzer
 * corrupt a few descriptor fields. Without this the fuzzer rarely builds a request the device
 * completes OK, and the "completed request's bytes match the backend" oracle would have nothing to
 * judge.
 */
final class RequestRingWriter {
  private static final int[] TYPES = {0, 1, 4, 8, 11, 13, 14, 10, 0, 1};
  private static final int MAX_REQUESTS = 16;

  private final GuestMemory mem;
  private final long desc;
  private final int size;
  private final long bufEnd;
  private long bufNext;
  private int nextDesc;

  private RequestRingWriter(GuestMemory mem, long desc, int size, long bufBase, long bufSize) {
    this.mem = mem;
    this.desc = desc;
    this.size = size;
    this.bufNext = bufBase;
    this.bufEnd = bufBase + bufSize;
  }

  /**
   * Writes requests into the table at {@code desc} and buffers into [bufBase, bufBase + bufSize),
   * makes them available in the ring at {@code avail}; returns the avail idx written.
   */
  static int write(
      FuzzedDataProvider data,
      GuestMemory mem,
      long desc,
      long avail,
      int size,
      long bufBase,
      long bufSize,
      int diskSectors) {
    RequestRingWriter w = new RequestRingWriter(mem, desc, size, bufBase, bufSize);
    int requests = data.consumeInt(1, MAX_REQUESTS);
    int made = 0;
    for (int r = 0; r < requests; r++) {
      int head = w.request(data, r, diskSectors);
      if (head < 0) {
        break;
      }
      mem.putU16(avail + 4 + 2L * (made % size), head);
      made++;
    }
    mem.putU16(avail, data.consumeInt(0, 1)); // flags: NO_INTERRUPT or not
    mem.putU16(avail + 2, made);
    int corruptions = data.consumeInt(0, 3);
    for (int i = 0; i < corruptions && w.nextDesc > 0; i++) {
      long d = desc + DriverChain.DESC_SIZE * (long) data.consumeInt(0, w.nextDesc - 1);
      switch (data.consumeInt(0, 3)) {
        case 0 -> mem.putU64(d, data.consumeLong());
        case 1 -> mem.putU32(d + 8, data.consumeInt() & 0xffff_ffffL);
        case 2 -> mem.putU16(d + 12, data.consumeInt(0, 0xffff));
        default -> mem.putU16(d + 14, data.consumeInt(0, 0xffff));
      }
    }
    return made;
  }

  /** One request; returns its head, or -1 when descriptors or buffer space ran out. */
  private int request(FuzzedDataProvider data, int r, int diskSectors) {
    int type = TYPES[data.consumeInt(0, TYPES.length - 1)];
    if (data.consumeInt(0, 15) == 15) {
      type = data.consumeInt();
    }
    long sector = data.consumeBoolean() ? data.consumeLong() : data.consumeInt(0, diskSectors);
    boolean rangeList = type == 11 || type == 13 || type == 14;
    boolean writableData = type == 0 || type == 8 || type == 10;
    if (data.consumeInt(0, 15) == 15) {
      writableData = !writableData;
    }
    int segments = data.consumeInt(type == 4 ? 0 : 1, 3);
    boolean shareStatus = writableData && segments > 0 && data.consumeInt(0, 3) == 3;
    boolean indirect = data.consumeInt(0, 3) == 3;
    int descs = 1 + segments + (shareStatus ? 0 : 1);

    long header = alloc(16);
    if (header < 0) {
      return -1;
    }
    mem.putU32(header, type & 0xffff_ffffL);
    mem.putU32(header + 4, 0);
    mem.putU64(header + 8, sector);
    long[] addr = new long[descs];
    long[] len = new long[descs];
    boolean[] write = new boolean[descs];
    addr[0] = header;
    len[0] = 16;
    for (int s = 0; s < segments; s++) {
      int n;
      if (rangeList) {
        n = 16 * data.consumeInt(1, 2);
      } else if (type == 8 || type == 10) {
        n = data.consumeBoolean() ? data.consumeInt(1, 64) : 20;
      } else {
        n = data.consumeBoolean() ? data.consumeInt(1, 2048) : 512 * data.consumeInt(1, 4);
      }
      boolean last = s == segments - 1;
      long a = alloc(n + (shareStatus && last ? 1 : 0));
      if (a < 0) {
        return -1;
      }
      if (rangeList) {
        for (int k = 0; k < n; k += 16) {
          mem.putU64(
              a + k, data.consumeBoolean() ? data.consumeInt(0, diskSectors) : data.consumeLong());
          mem.putU32(a + k + 8, data.consumeInt(0, 64));
          mem.putU32(a + k + 12, data.consumeInt(0, 3));
        }
      } else {
        for (int k = 0; k < n; k++) {
          mem.putU8(a + k, (r * 31 + k * 7 + s) & 0xff);
        }
      }
      addr[1 + s] = a;
      len[1 + s] = n + (shareStatus && last ? 1 : 0);
      write[1 + s] = writableData;
    }
    if (!shareStatus) {
      long st = alloc(1);
      if (st < 0) {
        return -1;
      }
      addr[descs - 1] = st;
      len[descs - 1] = 1;
      write[descs - 1] = true;
    }
    mem.putU8(addr[descs - 1] + len[descs - 1] - 1, 0xAA); // no status the device writes

    if (indirect) {
      long table = alloc(DriverChain.DESC_SIZE * descs);
      if (table < 0 || nextDesc >= size) {
        return -1;
      }
      for (int i = 0; i < descs; i++) {
        putDesc(table, i, addr[i], len[i], write[i], i + 1 < descs ? i + 1 : -1);
      }
      int head = nextDesc++;
      mem.putU64(desc + 16L * head, table);
      mem.putU32(desc + 16L * head + 8, DriverChain.DESC_SIZE * (long) descs);
      mem.putU16(desc + 16L * head + 12, DriverChain.F_INDIRECT);
      mem.putU16(desc + 16L * head + 14, 0);
      return head;
    }
    if (nextDesc + descs > size) {
      return -1;
    }
    int head = nextDesc;
    for (int i = 0; i < descs; i++) {
      putDesc(desc, head + i, addr[i], len[i], write[i], i + 1 < descs ? head + i + 1 : -1);
    }
    nextDesc += descs;
    return head;
  }

  private void putDesc(long table, int i, long addr, long len, boolean write, int next) {
    long d = table + DriverChain.DESC_SIZE * (long) i;
    mem.putU64(d, addr);
    mem.putU32(d + 8, len);
    int flags = (write ? DriverChain.F_WRITE : 0) | (next >= 0 ? DriverChain.F_NEXT : 0);
    mem.putU16(d + 12, flags);
    mem.putU16(d + 14, Math.max(next, 0));
  }

  /** Bump allocation, 16-byte aligned; -1 when the buffer area is full. */
  private long alloc(int n) {
    long a = (bufNext + 15) & ~15L;
    if (a + n > bufEnd) {
      return -1;
    }
    bufNext = a + n;
    return a;
  }
}
