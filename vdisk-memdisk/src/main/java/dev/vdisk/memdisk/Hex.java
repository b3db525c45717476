package dev.vdisk.memdisk;

/**
 * Upper-case hex for messages and the result model, without {@code String.format}: a probe of a
 * hostile image can record dozens of reasons, and the fuzzer runs the probe millions of times, so
 * the formatter's pattern parsing (microseconds per call) would dominate a rejection path that
 * otherwise costs a few reads.
 */
final class Hex {
  private static final char[] DIGITS = "0123456789ABCDEF".toCharArray();

  private Hex() {}

  /** "0x" and the unsigned value in upper-case hex, no leading zeros ("0x9F40A", "0x0"). */
  static String of(long value) {
    int digits = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 3) / 4);
    char[] out = new char[2 + digits];
    out[0] = '0';
    out[1] = 'x';
    fill(out, 2, value, digits);
    return new String(out);
  }

  /** Exactly {@code digits} upper-case hex digits of the low bits of {@code value} ("9F40"). */
  static String padded(long value, int digits) {
    char[] out = new char[digits];
    fill(out, 0, value, digits);
    return new String(out);
  }

  /** Appends exactly {@code digits} upper-case hex digits of the low bits of {@code value}. */
  static StringBuilder append(StringBuilder sb, long value, int digits) {
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
      sb.append(DIGITS[(int) (value >>> shift) & 0xF]);
    }
    return sb;
  }

  private static void fill(char[] out, int at, long value, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
      out[at + i] = DIGITS[(int) (value >>> (4 * (digits - 1 - i))) & 0xF];
    }
  }
}
