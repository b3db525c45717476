package dev.vdisk.fuzz;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.GuestMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * The "a completed request's bytes match the backend" oracle for a queue served synchronously (used
 * entries appear in execution order). It replays the used ring against a shadow copy of the disk:
 *
 * <ul>
 *   <li>an IN that completed OK put exactly the shadow's bytes into the guest's buffers, and its
 *       {@code used.len} is data + 1;
 *   <li>an OUT that completed OK is applied to the shadow; at the end the disk equals the shadow;
 *   <li>any IN/OUT that completed OK was valid: data a non-zero multiple of 512 inside the
 *       capacity;
 *   <li>the descriptor table and available ring were not modified (the device never writes them).
 * </ul>
 *
 * Bytes are only judged when they are unambiguous: every completed chain walks regularly ({@link
 * DriverChain}), no device-writable buffer overlaps the rings, an indirect table or another chain's
 * buffers. DISCARD/WRITE_ZEROES/SECURE_ERASE (and unknown types) that complete OK make the shadow
 * unknown from then on. Counters say how often each check really ran.
 */
final class CompletedRequestOracle {
  static final int SECTOR = 512;
  private static final int T_IN = 0;
  private static final int T_OUT = 1;
  private static final int T_FLUSH = 4;
  private static final int T_GET_ID = 8;
  private static final int T_GET_LIFETIME = 10;
  private static final int HEADER = 16;

  /** How often each judgement ran over the campaign (printed by the target now and then). */
  static long inputs;

  static long judged;
  static long inChecked;
  static long outApplied;
  static long diskCompared;

  private final GuestMemory mem;
  private final long desc;
  private final long avail;
  private final long used;
  private final int size;
  private final byte[] shadow;
  private final byte[] ringsBefore;

  /**
   * Call before the device runs: snapshots the descriptor table and available ring; {@code shadow}
   * must hold the disk's current contents.
   */
  CompletedRequestOracle(
      GuestMemory mem, long desc, long avail, long used, int size, byte[] shadow) {
    this.mem = mem;
    this.desc = desc;
    this.avail = avail;
    this.used = used;
    this.size = size;
    this.shadow = shadow;
    this.ringsBefore = rings();
  }

  private byte[] rings() {
    byte[] b = new byte[DriverChain.DESC_SIZE * size + availBytes()];
    mem.read(desc, b, 0, DriverChain.DESC_SIZE * size);
    mem.read(avail, b, DriverChain.DESC_SIZE * size, availBytes());
    return b;
  }

  private int availBytes() {
    return 6 + 2 * size;
  }

  private int usedBytes() {
    return 6 + 8 * size;
  }

  /** Call after the device has processed the queue: throws AssertionError naming the violation. */
  void check(BlockDevice disk, BytesStore<?, ?> diskBuffer, byte[] diskScratch, int usedIdx)
      throws IOException {
    inputs++;
    List<DriverChain> chains = new ArrayList<>();
    int[] lens = new int[usedIdx];
    for (int k = 0; k < usedIdx; k++) {
      long e = used + 4 + 8L * (k % size);
      int id = (int) mem.u32(e);
      lens[k] = (int) mem.u32(e + 4);
      DriverChain c = DriverChain.walk(mem, desc, size, id);
      if (c == null) {
        return; // an irregular chain: its writes are unknown, nothing here can be judged
      }
      chains.add(c);
    }
    for (DriverChain c : chains) {
      if (c.writesInto(desc, DriverChain.DESC_SIZE * size)
          || c.writesInto(avail, availBytes())
          || c.writesInto(used, usedBytes())) {
        return;
      }
      for (DriverChain other : chains) {
        for (long[] t : other.tables) {
          if (c.writesInto(t[0], t[1])) {
            return;
          }
        }
      }
    }
    judged++;
    if (!Arrays.equals(ringsBefore, rings())) {
      throw new AssertionError("the descriptor table or available ring changed under the device");
    }
    boolean shadowKnown = true;
    for (int k = 0; k < chains.size(); k++) {
      DriverChain c = chains.get(k);
      boolean clean = !c.selfOverlapping();
      for (int j = 0; j < chains.size() && clean; j++) {
        clean = j == k || !c.touchesWritableOf(chains.get(j));
      }
      byte[] r = c.bytes(mem, false);
      byte[] w = c.bytes(mem, true);
      if (!clean) {
        shadowKnown = false; // its header or data may have been overwritten after the fact
        continue;
      }
      if (lens[k] == 0 || r.length < HEADER || w.length < 1 || w[w.length - 1] != 0) {
        // Not completed OK. used.len 0 means the device refused the chain and wrote nothing, so a
        // zero "status" there is the driver's own byte (the DEFAULT profile reports used.len).
        continue;
      }
      int type = le32(r, 0);
      long sector = le64(r, 8);
      switch (type) {
        case T_IN -> {
          int data = w.length - 1;
          checkValid("IN", k, sector, data);
          if (lens[k] != data + 1) {
            throw new AssertionError(
                "IN #" + k + " of " + data + " bytes completed with used.len " + lens[k]);
          }
          if (shadowKnown) {
            int off = (int) (sector * SECTOR);
            if (!Arrays.equals(w, 0, data, shadow, off, off + data)) {
              throw new AssertionError(
                  "IN #" + k + " at sector " + sector + " returned bytes the disk does not hold");
            }
            inChecked++;
          }
        }
        case T_OUT -> {
          int data = r.length - HEADER;
          checkValid("OUT", k, sector, data);
          if (w.length != 1) {
            throw new AssertionError("OUT #" + k + " with " + w.length + " writable bytes was OK");
          }
          if (shadowKnown) {
            System.arraycopy(r, HEADER, shadow, (int) (sector * SECTOR), data);
            outApplied++;
          }
        }
        case T_FLUSH, T_GET_ID, T_GET_LIFETIME -> {}
        default -> shadowKnown = false;
      }
    }
    if (shadowKnown) {
      int n = shadow.length;
      disk.read(0, diskBuffer, 0, n);
      diskBuffer.read(0, diskScratch, 0, n);
      int i = Arrays.mismatch(diskScratch, shadow);
      if (i >= 0) {
        throw new AssertionError(
            "disk byte " + i + " is " + diskScratch[i] + ", completed requests say " + shadow[i]);
      }
      diskCompared++;
    }
  }

  private void checkValid(String what, int k, long sector, int data) {
    if (data <= 0
        || data % SECTOR != 0
        || sector < 0
        || sector > shadow.length / SECTOR
        || sector * SECTOR + data > shadow.length) {
      throw new AssertionError(
          what + " #" + k + " of " + data + " bytes at sector " + sector + " completed OK");
    }
  }

  private static int le32(byte[] b, int at) {
    return (b[at] & 0xff)
        | (b[at + 1] & 0xff) << 8
        | (b[at + 2] & 0xff) << 16
        | (b[at + 3] & 0xff) << 24;
  }

  private static long le64(byte[] b, int at) {
    return (le32(b, at) & 0xffff_ffffL) | (long) le32(b, at + 4) << 32;
  }
}
