package dev.vdisk.memdisk;

/**
 * Real-mode far pointers ("vectors"). A vector is stored as offset u16 then segment u16, so read as
 * a little-endian u32 its segment is the high half; its linear address is {@code segment * 16 +
 * offset} (0 .. 0x10FFEF, no paging in real mode).
 */
public final class RealMode {
  /** Highest linear address a seg:off pair can name (FFFF:FFFF, past 1 MiB with A20 on). */
  public static final long MAX_LINEAR = 0x10FFEFL;

  private static final char[] HEX_DIGITS = "0123456789ABCDEF".toCharArray();

  private RealMode() {}

  public static int segment(long vector) {
    return (int) ((vector >>> 16) & 0xFFFF);
  }

  public static int offset(long vector) {
    return (int) (vector & 0xFFFF);
  }

  public static long linear(long vector) {
    return ((long) segment(vector) << 4) + offset(vector);
  }

  public static long vector(int segment, int offset) {
    return ((long) (segment & 0xFFFF) << 16) | (offset & 0xFFFF);
  }

  /** "SSSS:OOOO", the way BIOS people write vectors. */
  public static String format(long vector) {
    // Not String.format: this runs for every hook of every probe (see Hex).
    char[] out = new char[9];
    long v = vector & 0xFFFFFFFFL;
    for (int i = 8; i >= 0; i--) {
      if (i == 4) {
        out[i] = ':';
        continue;
      }
      out[i] = HEX_DIGITS[(int) (v & 0xF)];
      v >>>= 4;
    }
    return new String(out);
  }
}
