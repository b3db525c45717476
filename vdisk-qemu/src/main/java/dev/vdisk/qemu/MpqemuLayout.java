package dev.vdisk.qemu;

/**
 * Byte layout of QEMU 7.2's multi-process messages ({@code include/hw/remote/mpqemu-link.h}): raw
 * host-native C structs, little-endian on x86-64. Confirmed byte by byte on live traffic (see
 * shared/specs/qemu-multiprocess.md).
 *
 * <pre>
 * header (16 bytes)                 PciConfDataMsg (12)      BarAccessMsg (24)
 *   0 i32 cmd                         0 u32 addr               0 u64 addr (absolute)
 *   4 (padding)                       4 u32 val                8 u64 val
 *   8 u64 size (payload bytes)        8 i32 len (1, 2, 4)     16 u32 size (1, 2, 4, 8)
 *                                                             20 u8  memory (bool)
 * SyncSysmemMsg (192)                RET payload (8)
 *   0 u64 gpas[8]                     0 u64 value
 *  64 u64 sizes[8]
 * 128 i64 offsets[8]
 * </pre>
 */
final class MpqemuLayout {
  static final int HEADER_SIZE = 16;
  static final int HDR_CMD = 0;
  static final int HDR_SIZE = 8;

  /** sizeof the {@code data} union: QEMU rejects a larger size. */
  static final int MAX_PAYLOAD = 192;

  static final int CONF_ADDR = 0;
  static final int CONF_VAL = 4;
  static final int CONF_LEN = 8;
  static final int CONF_MSG_SIZE = 12;

  static final int BAR_ADDR = 0;
  static final int BAR_VAL = 8;
  static final int BAR_SIZE = 16;
  static final int BAR_MEMORY = 20;
  static final int BAR_MSG_SIZE = 24;

  static final int SYSMEM_GPAS = 0;
  static final int SYSMEM_SIZES = 64;
  static final int SYSMEM_OFFSETS = 128;
  static final int SYSMEM_MSG_SIZE = 192;

  /** Entries in SyncSysmemMsg; mpqemu_msg_valid() rejects 8 fds, so at most 7 are ever used. */
  static final int SYSMEM_MAX_ENTRIES = 8;

  static final int RET_MSG_SIZE = 8;

  private MpqemuLayout() {}
}
