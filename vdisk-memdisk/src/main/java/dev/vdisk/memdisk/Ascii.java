package dev.vdisk.memdisk;

/** Eight-byte ASCII tags read as little-endian u64, and printable forms of raw guest bytes. */
final class Ascii {
  private Ascii() {}

  /** The little-endian u64 whose bytes are {@code text} (exactly 8 ASCII characters). */
  static long tag64(String text) {
    if (text.length() != 8) {
      throw new IllegalArgumentException("tag '" + text + "' (expected 8 characters)");
    }
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = (v << 8) | (text.charAt(i) & 0xFF);
    }
    return v;
  }

  /** The little-endian u32 whose bytes are {@code text} (exactly 4 ASCII characters). */
  static long tag32(String text) {
    if (text.length() != 4) {
      throw new IllegalArgumentException("tag '" + text + "' (expected 4 characters)");
    }
    long v = 0;
    for (int i = 3; i >= 0; i--) {
      v = (v << 8) | (text.charAt(i) & 0xFF);
    }
    return v;
  }

  /**
   * The bytes of a little-endian value as text, replacing bytes outside 0x21-0x7E and commas with
   * '_' the way WinVBlock prints vendor ids (so "MEMDISK " prints as "MEMDISK_").
   */
  static String printable(long value, int bytes) {
    StringBuilder sb = new StringBuilder(bytes);
    for (int i = 0; i < bytes; i++) {
      int b = (int) (value >>> (8 * i)) & 0xFF;
      sb.append(b >= 0x21 && b <= 0x7E && b != ',' ? (char) b : '_');
    }
    return sb.toString();
  }

  /** The raw bytes of a little-endian value in memory order, as hex ("4D454D4449534B20"). */
  static String hex(long value, int bytes) {
    StringBuilder sb = new StringBuilder(bytes * 2);
    for (int i = 0; i < bytes; i++) {
      Hex.append(sb, value >>> (8 * i), 2);
    }
    return sb.toString();
  }

  /** The bytes of a little-endian value as text with non-printable bytes as '.' (OEM ids). */
  static String text(long value, int bytes) {
    StringBuilder sb = new StringBuilder(bytes);
    for (int i = 0; i < bytes; i++) {
      int b = (int) (value >>> (8 * i)) & 0xFF;
      sb.append(b >= 0x20 && b <= 0x7E ? (char) b : '.');
    }
    return sb.toString();
  }
}
