package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The state of one probe: what the parsers found so far and what they refused. */
final class ProbeContext {
  final ReadableGuestMemory memory;
  final ProbeOptions options;
  final List<HookInfo> hooks = new ArrayList<>();
  final List<MemdiskInfo> memdisks = new ArrayList<>();
  final List<Grub4DosInfo> grub4dos = new ArrayList<>();
  final List<Candidate> candidates = new ArrayList<>();
  final List<Reserved> reserved = new ArrayList<>();
  final List<Rejection> rejected = new ArrayList<>();
  final List<String> warnings = new ArrayList<>();

  /** mBFT addresses already examined through a hook, so the scan does not report them twice. */
  final Set<Long> examinedMbfts = new HashSet<>();

  /** Linear addresses of hooks reached from the IVT. */
  final Set<Long> chainHooks = new HashSet<>();

  ChainEnd chainEnd;

  /** {@link #ranges()}, built on first use. */
  private String ranges;

  ProbeContext(ReadableGuestMemory memory, ProbeOptions options) {
    this.memory = memory;
    this.options = options;
  }

  void reject(String subject, long address, String reason) {
    rejected.add(new Rejection(subject, address, reason));
  }

  /**
   * The mapped ranges, for messages: built once per probe, because {@code describeRanges()} formats
   * every region on each call and several rejections of one image quote it.
   */
  String ranges() {
    if (ranges == null) {
      ranges = memory.describeRanges();
    }
    return ranges;
  }

  void warn(String warning) {
    warnings.add(warning);
  }

  /** A range no RAM disk may overlap (a loader's resident block, the IVT/BDA, ROMs). */
  record Reserved(String what, long start, long length) {}

  /**
   * A disk a parser derived from a table, before the cross-checks against the image and the other
   * disks.
   *
   * @param extentLength bytes the loader owns from the disk's address (GRUB4DOS: count * 512, which
   *     may exceed the exposed size of a CD whose count is not a multiple of 4)
   * @param disconnected found only by the mBFT scan
   */
  record Candidate(MemoryDisk disk, long extentLength, boolean disconnected, String subject) {}

  static String hex(long value) {
    return Hex.of(value);
  }
}
