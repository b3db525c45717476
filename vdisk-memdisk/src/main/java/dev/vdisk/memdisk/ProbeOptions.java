package dev.vdisk.memdisk;

/**
 * How hard and how trustingly to probe.
 *
 * @param hopLimit most hooks to follow (real chains have 1-3; the spec suggests 16)
 * @param scanForMbft also scan 0x500-0x9FFF0 for mBFTs of MEMDISKs no longer in the chain
 * @param includeDisconnected expose disks of MEMDISKs only the scan found (default: report only)
 * @param includeOverlapping expose disks that overlap another disk (default: reject both)
 */
public record ProbeOptions(
    int hopLimit, boolean scanForMbft, boolean includeDisconnected, boolean includeOverlapping) {

  public static final ProbeOptions DEFAULTS = new ProbeOptions(16, true, false, false);

  /** Upper bound on the hop limit: the visited set is a small array scanned linearly. */
  public static final int MAX_HOP_LIMIT = 1024;

  public ProbeOptions {
    if (hopLimit < 1 || hopLimit > MAX_HOP_LIMIT) {
      throw new IllegalArgumentException(
          "hopLimit " + hopLimit + " (expected 1.." + MAX_HOP_LIMIT + ")");
    }
  }

  public ProbeOptions withHopLimit(int value) {
    return new ProbeOptions(value, scanForMbft, includeDisconnected, includeOverlapping);
  }

  public ProbeOptions withScanForMbft(boolean value) {
    return new ProbeOptions(hopLimit, value, includeDisconnected, includeOverlapping);
  }

  public ProbeOptions withIncludeDisconnected(boolean value) {
    return new ProbeOptions(hopLimit, scanForMbft, value, includeOverlapping);
  }

  public ProbeOptions withIncludeOverlapping(boolean value) {
    return new ProbeOptions(hopLimit, scanForMbft, includeDisconnected, value);
  }
}
