package dev.vdisk.api;

import java.util.Locale;

/**
 * Byte sizes as people write them: {@code 512}, {@code 64K}, {@code 1536M}, {@code 2G}, {@code
 * 0x10000} (hex takes no unit). Units are binary (K = 1024) as in ImDisk, qemu-img and dd; an
 * optional {@code B} or {@code iB} may follow the unit ({@code 64KiB}, {@code 64KB} are both
 * 65536).
 */
public final class Sizes {
  private static final String UNITS = "KMGTPE";

  private Sizes() {}

  /**
   * Parses a non-negative size. Throws {@link IllegalArgumentException} naming the text and the
   * accepted forms when it is empty, negative, malformed or does not fit in a {@code long}.
   */
  public static long parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("size is missing (" + expected() + ")");
    }
    String t = text.trim();
    if (t.startsWith("0x") || t.startsWith("0X")) {
      // Hex takes no unit: B and E are hex digits.
      return parseDigits(text, t.substring(2), 16, 0);
    }
    int end = t.length();
    // Optional "B" / "iB" after the unit, or a bare "B".
    if (end > 0 && (t.charAt(end - 1) == 'B' || t.charAt(end - 1) == 'b')) {
      end--;
      if (end > 1 && (t.charAt(end - 1) == 'i' || t.charAt(end - 1) == 'I')) {
        end--;
      }
    }
    int shift = 0;
    if (end > 0) {
      int unit = UNITS.indexOf(Character.toUpperCase(t.charAt(end - 1)));
      if (unit >= 0) {
        shift = 10 * (unit + 1);
        end--;
      } else if (end < t.length() && end != t.length() - 1) {
        // "iB" without a unit letter, e.g. "12iB".
        throw bad(text);
      }
    }
    return parseDigits(text, t.substring(0, end), 10, shift);
  }

  private static long parseDigits(String text, String digits, int radix, int shift) {
    if (digits.isEmpty() || digits.charAt(0) == '+' || digits.charAt(0) == '-') {
      throw bad(text);
    }
    long value;
    try {
      value = Long.parseLong(digits, radix);
    } catch (NumberFormatException e) {
      throw bad(text);
    }
    if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException(
          "size '" + text + "' does not fit in 64 bits (expected at most " + Long.MAX_VALUE + ")");
    }
    return value << shift;
  }

  /**
   * Formats a size exactly, with the largest binary unit that divides it: {@code 65536 -> "64K"},
   * {@code 1536 -> "1536"}, {@code 3<<30 -> "3G"}. {@code parse(format(n)) == n} for every {@code n
   * >= 0}.
   */
  public static String format(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("size " + bytes + " (expected >= 0)");
    }
    if (bytes == 0) {
      return "0";
    }
    int unit = Math.min(Long.numberOfTrailingZeros(bytes) / 10, UNITS.length());
    return unit == 0
        ? Long.toString(bytes)
        : (bytes >>> (10 * unit)) + String.valueOf(UNITS.charAt(unit - 1));
  }

  /** An approximate size for people: {@code "1.5 GiB"}, {@code "512 B"}. */
  public static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    int unit = Math.min((63 - Long.numberOfLeadingZeros(bytes)) / 10, UNITS.length());
    double value = bytes / (double) (1L << (10 * unit));
    return String.format(Locale.ROOT, "%.1f %siB", value, UNITS.charAt(unit - 1));
  }

  private static IllegalArgumentException bad(String text) {
    return new IllegalArgumentException("size '" + text + "' (" + expected() + ")");
  }

  private static String expected() {
    return "expected a non-negative integer, decimal or 0x-hex, with an optional K, M, G, T, P or"
        + " E suffix, e.g. 512, 64K, 2G";
  }
}
