package dev.vdisk.bench.report;

import java.util.Locale;

/** Number formats of the report; NaN prints as an em dash. */
final class Format {
  static final String NONE = "—";

  private Format() {}

  static String ns(double v) {
    if (Double.isNaN(v)) {
      return NONE;
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : "%.1f", v);
  }

  static String nsWithError(double v, double error) {
    if (Double.isNaN(error) || Double.isNaN(v)) {
      return ns(v);
    }
    return ns(v) + " ± " + ns(error);
  }

  /** Events per second with an SI prefix: "12.3 M". */
  static String rate(double perSecond) {
    if (Double.isNaN(perSecond)) {
      return NONE;
    }
    if (perSecond >= 1e9) {
      return String.format(Locale.ROOT, "%.2f G", perSecond / 1e9);
    }
    if (perSecond >= 1e6) {
      return String.format(Locale.ROOT, "%.2f M", perSecond / 1e6);
    }
    if (perSecond >= 1e3) {
      return String.format(Locale.ROOT, "%.1f k", perSecond / 1e3);
    }
    return String.format(Locale.ROOT, "%.0f", perSecond);
  }

  /** Bytes per second in decimal GB/s. */
  static String bandwidth(double bytesPerSecond) {
    if (Double.isNaN(bytesPerSecond)) {
      return NONE;
    }
    return String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9);
  }

  static String percent(double fraction) {
    if (Double.isNaN(fraction)) {
      return NONE;
    }
    return String.format(Locale.ROOT, "%.0f%%", fraction * 100);
  }

  /** A share of a core, 0..1. */
  static String share(double v) {
    if (Double.isNaN(v)) {
      return NONE;
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  /** Allocation per operation, unmarked (for code that is not a steady-state loop). */
  static String allocPlain(double bytesPerOp) {
    if (Double.isNaN(bytesPerOp)) {
      return NONE;
    }
    return String.format(Locale.ROOT, bytesPerOp < 10 ? "%.2f" : "%.0f", bytesPerOp);
  }

  /** Allocation per operation; anything from 1 B/op up is a finding and is marked. */
  static String alloc(double bytesPerOp) {
    if (Double.isNaN(bytesPerOp)) {
      return NONE;
    }
    String s = String.format(Locale.ROOT, bytesPerOp < 10 ? "%.2f" : "%.0f", bytesPerOp);
    return bytesPerOp >= 1 ? "**" + s + "** ⚠" : s;
  }
}
