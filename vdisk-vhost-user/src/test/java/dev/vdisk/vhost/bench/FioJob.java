package dev.vdisk.vhost.bench;

import java.util.List;

/**
 * One fio job the benchmark guest runs against {@code /dev/vda} (O_DIRECT, libaio, one thread), and
 * the parser for the line fio prints for it with {@code --minimal} (terse format version 3).
 *
 * <p>Terse v3 fields used (1-based, as the fio manual numbers them): 1 terse version, 3 job name, 5
 * error; read: 6 KiB moved, 7 bandwidth KiB/s, 8 IOPS, 9 runtime ms, 16 mean completion latency µs;
 * write: 47 KiB moved, 48 bandwidth KiB/s, 49 IOPS, 50 runtime ms, 57 mean completion latency µs.
 * (Checked against fio 3.33's own JSON output for the same run.)
 */
public record FioJob(String name, String rw, String blockSize, int iodepth, String label) {

  /** The comparison the issue asks for, plus 1 MiB sequential writes. */
  public static final List<FioJob> STANDARD =
      List.of(
          new FioJob("randread-4k-qd1", "randread", "4k", 1, "4 KiB random read, QD1"),
          new FioJob("randread-4k-qd32", "randread", "4k", 32, "4 KiB random read, QD32"),
          new FioJob("read-1m-qd8", "read", "1m", 8, "1 MiB sequential read, QD8"),
          new FioJob("write-1m-qd8", "write", "1m", 8, "1 MiB sequential write, QD8"));

  static final int F_TERSE_VERSION = 1;
  static final int F_JOB_NAME = 3;
  static final int F_ERROR = 5;
  static final int F_READ_KIB = 6;
  static final int F_READ_BW_KIBPS = 7;
  static final int F_READ_IOPS = 8;
  static final int F_READ_RUNTIME_MS = 9;
  static final int F_READ_CLAT_MEAN_US = 16;
  static final int F_WRITE_KIB = 47;
  static final int F_WRITE_BW_KIBPS = 48;
  static final int F_WRITE_IOPS = 49;
  static final int F_WRITE_RUNTIME_MS = 50;
  static final int F_WRITE_CLAT_MEAN_US = 57;
  static final int MIN_FIELDS = 57;

  public boolean isWrite() {
    return rw.contains("write");
  }

  /**
   * The guest shell command for this job; {@code seconds} of measured time with no ramp (the
   * server's CPU time is sampled around the whole job, so a ramp would count CPU without I/O).
   */
  public String command(int seconds) {
    return "fio --name="
        + name
        + " --filename=/dev/vda --direct=1 --ioengine=libaio --thread --norandommap"
        + " --randrepeat=0 --rw="
        + rw
        + " --bs="
        + blockSize
        + " --iodepth="
        + iodepth
        + " --time_based --runtime="
        + seconds
        + " --minimal";
  }

  /** What fio measured for one run of a job. */
  public record Measurement(
      double iops,
      double bytesPerSecond,
      long bytes,
      long runtimeMillis,
      double meanLatencyMicros) {}

  /** Parses fio's terse line for this job; throws with the line when it is not what we asked. */
  public Measurement parse(String terse) {
    String[] f = terse.trim().split(";");
    if (f.length < MIN_FIELDS || !"3".equals(f[F_TERSE_VERSION - 1])) {
      throw new IllegalArgumentException(
          "fio printed "
              + f.length
              + " fields (expected: terse v3 with at least "
              + MIN_FIELDS
              + "): "
              + terse);
    }
    if (!name.equals(f[F_JOB_NAME - 1])) {
      throw new IllegalArgumentException(
          "fio line is for job " + f[F_JOB_NAME - 1] + " (expected: " + name + "): " + terse);
    }
    if (!"0".equals(f[F_ERROR - 1])) {
      throw new IllegalArgumentException("fio job " + name + " failed with error " + f[4]);
    }
    boolean w = isWrite();
    long kib = Long.parseLong(f[(w ? F_WRITE_KIB : F_READ_KIB) - 1]);
    long bwKib = Long.parseLong(f[(w ? F_WRITE_BW_KIBPS : F_READ_BW_KIBPS) - 1]);
    double iops = Double.parseDouble(f[(w ? F_WRITE_IOPS : F_READ_IOPS) - 1]);
    long ms = Long.parseLong(f[(w ? F_WRITE_RUNTIME_MS : F_READ_RUNTIME_MS) - 1]);
    double clat = Double.parseDouble(f[(w ? F_WRITE_CLAT_MEAN_US : F_READ_CLAT_MEAN_US) - 1]);
    if (kib <= 0 || ms <= 0) {
      throw new IllegalArgumentException(
          "fio job " + name + " moved " + kib + " KiB in " + ms + " ms: " + terse);
    }
    return new Measurement(iops, bwKib * 1024.0, kib * 1024, ms, clat);
  }
}
