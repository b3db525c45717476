package dev.vdisk.bench;

/**
 * The virtio-blk workloads of {@code VirtioBlkBench}: what each request slot carries. The report
 * reads {@link #kind} and {@link #size} to pick the memcpy baseline of the same copies.
 */
public enum BlkWorkload {
  READ_512(Kind.READ, 512),
  READ_4K(Kind.READ, 4096),
  READ_64K(Kind.READ, 65536),
  WRITE_512(Kind.WRITE, 512),
  WRITE_4K(Kind.WRITE, 4096),
  WRITE_64K(Kind.WRITE, 65536),
  /** 70% 4 KiB reads, 30% 4 KiB writes, interleaved ({@link Workload#mixedIsRead}). */
  MIXED_4K(Kind.MIXED, 4096),
  /** FLUSH: header and status only, no data. */
  FLUSH(Kind.FLUSH, 0),
  /** DISCARD of one 4 KiB range (one 16-byte segment). */
  DISCARD_4K(Kind.DISCARD, 4096);

  /** What the device does with the data. */
  public enum Kind {
    READ,
    WRITE,
    MIXED,
    FLUSH,
    DISCARD
  }

  public final Kind kind;

  /** Bytes per request (data for reads/writes, range for discard, 0 for flush). */
  public final int size;

  BlkWorkload(Kind kind, int size) {
    this.kind = kind;
    this.size = size;
  }

  /** True when the request moves {@link #size} bytes between the disk and guest memory. */
  public boolean copiesData() {
    return kind == Kind.READ || kind == Kind.WRITE || kind == Kind.MIXED;
  }

  /** Whether slot {@code slot} of this workload is a read (the mixed workload varies per slot). */
  public boolean isRead(int slot) {
    return kind == Kind.READ || (kind == Kind.MIXED && Workload.mixedIsRead(slot));
  }
}
