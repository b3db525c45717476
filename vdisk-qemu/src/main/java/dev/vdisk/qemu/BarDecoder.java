package dev.vdisk.qemu;

/**
 * Turns the absolute address QEMU's proxy sends with a BAR access ({@code mr->addr + offset}:
 * guest-physical for memory BARs, a port for I/O BARs) into (BAR, offset) from the bases the guest
 * programmed. The bases are snapshotted from the function after every config write, the only thing
 * that moves them, so decoding is a scan of six entries with no calls.
 */
final class BarDecoder {
  private final long[] bases = new long[ProxiedFunction.BAR_COUNT];
  private final long[] sizes = new long[ProxiedFunction.BAR_COUNT];
  private final boolean[] io = new boolean[ProxiedFunction.BAR_COUNT];
  private long offset;

  void refresh(ProxiedFunction function) {
    for (int i = 0; i < ProxiedFunction.BAR_COUNT; i++) {
      bases[i] = function.barBase(i);
      sizes[i] = function.barSize(i);
      io[i] = function.barIsIo(i);
    }
  }

  /**
   * Returns the BAR that wholly contains [address, address+length) in the given space, or -1; on
   * success {@link #offset()} is the offset inside it. A BAR still at base 0 is not decoded.
   */
  int decode(long address, int length, boolean memory) {
    for (int i = 0; i < ProxiedFunction.BAR_COUNT; i++) {
      long size = sizes[i];
      long base = bases[i];
      if (size == 0 || base == 0 || io[i] == memory) {
        continue;
      }
      long off = address - base;
      // Unsigned: an address below the base wraps to a huge offset and fails the first test.
      if (Long.compareUnsigned(off, size) < 0 && Long.compareUnsigned(length, size - off) <= 0) {
        offset = off;
        return i;
      }
    }
    return -1;
  }

  long offset() {
    return offset;
  }

  String describe() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < ProxiedFunction.BAR_COUNT; i++) {
      if (sizes[i] == 0) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append("BAR")
          .append(i)
          .append(io[i] ? " io " : " mem ")
          .append(String.format("0x%x+0x%x", bases[i], sizes[i]));
    }
    return sb.length() == 0 ? "no BARs" : sb.toString();
  }
}
