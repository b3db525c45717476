package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a GRUB4DOS 0.4.5c resident block (spec §6.1, §10) with literal offsets from the spec:
 * segment 0x9CC0, 12 KiB, "G4DS", version 1, saved vectors, drive map at 0x20, hook at 0x100 with
 * flags 1.
 */
final class SyntheticGrub4Dos {
  int segment = 0x9CC0;
  int hookOffset = 0x100;
  int sizeKib = 12;
  boolean g4ds = true;
  int version = 1;
  long prev = SyntheticMemdisk.vector(0xF000, 0xE3FE);
  long savedInt13 = -1; // -1: prev
  long savedInt15 = SyntheticMemdisk.vector(0xF000, 0xF859);
  long flags = 1;
  boolean hookVector = true;
  final List<byte[]> slots = new ArrayList<>();

  long block() {
    return (long) segment << 4;
  }

  long hook() {
    return block() + 0x100;
  }

  /** A slot from its raw fields (spec §6.2). */
  SyntheticGrub4Dos slot(
      int from,
      int to,
      int maxHead,
      int maxSector,
      int toCylinder,
      int toHead,
      int toSector,
      long start,
      long count) {
    byte[] b = new byte[24];
    b[0] = (byte) from;
    b[1] = (byte) to;
    b[2] = (byte) maxHead;
    b[3] = (byte) maxSector;
    b[4] = (byte) toCylinder;
    b[5] = (byte) (toCylinder >>> 8);
    b[6] = (byte) toHead;
    b[7] = (byte) toSector;
    for (int i = 0; i < 8; i++) {
      b[8 + i] = (byte) (start >>> (8 * i));
      b[16 + i] = (byte) (count >>> (8 * i));
    }
    slots.add(b);
    return this;
  }

  SyntheticGrub4Dos writeTo(GuestMemory m) {
    long g = block();
    m.putU8(g, sizeKib);
    m.putU8(g + 2, 0);
    m.putU8(g + 3, 0xC0);
    if (g4ds) {
      SyntheticMemdisk.put(m, g + 4, "G4DS");
    }
    m.putU16(g + 8, version);
    m.putU8(g + 0x0A, 0x41);
    m.putU8(g + 0x0B, 0);
    m.putU32(g + 0x0C, savedInt15);
    m.putU32(g + 0x1C, savedInt13 >= 0 ? savedInt13 : prev);
    for (int i = 0; i < slots.size(); i++) {
      m.write(g + 0x20 + 24L * i, slots.get(i), 0, 24);
    }
    long h = g + 0x100;
    m.putU8(h, 0xE9);
    m.putU8(h + 1, 0x09);
    m.putU8(h + 2, 0x01);
    SyntheticMemdisk.put(m, h + 3, "$INT13SF");
    SyntheticMemdisk.put(m, h + 11, "GRUB4DOS");
    m.putU32(h + 19, prev);
    m.putU32(h + 23, flags);
    m.putU32(h + 27, 0);
    if (hookVector) {
      m.putU32(0x4C, SyntheticMemdisk.vector(segment, hookOffset));
      m.putU16(0x413, (int) (g >>> 10));
    }
    return this;
  }
}
