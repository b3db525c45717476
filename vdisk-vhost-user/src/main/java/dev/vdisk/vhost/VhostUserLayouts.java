package dev.vdisk.vhost;

/**
 * Byte layouts of vhost-user messages (QEMU docs/interop/vhost-user.rst, "Message Specification").
 * All fields are in the host's byte order, which on every platform vdisk runs on (x86-64, aarch64)
 * is little-endian; the codec reads them little-endian explicitly. Payload offsets are relative to
 * the payload, which follows the 12-byte header.
 */
final class VhostUserLayouts {
  private VhostUserLayouts() {}

  /**
   * Header.
   *
   * <pre>
   *  0 u32 request
   *  4 u32 flags: bits 0-1 version (1), bit 2 REPLY, bit 3 NEED_REPLY, others 0
   *  8 u32 size of the payload in bytes
   * </pre>
   */
  static final class Header {
    static final int REQUEST = 0;
    static final int FLAGS = 4;
    static final int SIZE_FIELD = 8;
    static final int SIZE = 12;

    static final int VERSION_MASK = 0x3;
    static final int VERSION = 0x1;
    static final int FLAG_REPLY = 0x4;
    static final int FLAG_NEED_REPLY = 0x8;
    static final int KNOWN_FLAGS = VERSION_MASK | FLAG_REPLY | FLAG_NEED_REPLY;

    private Header() {}
  }

  /**
   * Largest payload vdisk reads: the biggest message it accepts is GET/SET_CONFIG (12 + 256 bytes);
   * SET_MEM_TABLE with 8 regions is 264. Anything bigger is refused before a byte of it is read.
   */
  static final int MAX_PAYLOAD = 4096;

  /** A u64 payload (features, status, ack replies). */
  static final int U64_SIZE = 8;

  /** {@code struct vhost_vring_state}: SET_VRING_NUM/BASE, GET_VRING_BASE, SET_VRING_ENABLE. */
  static final class VringState {
    static final int INDEX = 0;
    static final int NUM = 4;
    static final int SIZE = 8;

    private VringState() {}
  }

  /** {@code struct vhost_vring_addr}: SET_VRING_ADDR (front-end user addresses). */
  static final class VringAddr {
    static final int INDEX = 0;
    static final int FLAGS = 4;
    static final int DESC = 8;
    static final int USED = 16;
    static final int AVAIL = 24;
    static final int LOG = 32;
    static final int SIZE = 40;

    /** VHOST_VRING_F_LOG: the log address is valid (dirty logging for migration). */
    static final int F_LOG = 0x1;

    private VringAddr() {}
  }

  /**
   * A u64 naming a vring and whether a descriptor came with it: SET_VRING_KICK/CALL/ERR. Bits 0-7
   * are the index, bit 8 says "no fd" (polling / no notification), bits 9-63 are 0.
   */
  static final class VringFile {
    static final long INDEX_MASK = 0xff;
    static final long NOFD_MASK = 0x100;
    static final int SIZE = 8;

    private VringFile() {}
  }

  /** One memory region description (SET_MEM_TABLE entries, ADD/REM_MEM_REG). */
  static final class MemRegion {
    static final int GUEST_PHYS_ADDR = 0;
    static final int MEMORY_SIZE = 8;
    static final int USERSPACE_ADDR = 16;
    static final int MMAP_OFFSET = 24;
    static final int SIZE = 32;

    private MemRegion() {}
  }

  /** SET_MEM_TABLE: u32 nregions, u32 padding, then nregions region descriptions. */
  static final class MemTable {
    static final int NREGIONS = 0;
    static final int REGIONS = 8;

    /** VHOST_MEMORY_BASELINE_NREGIONS: QEMU never sends more in one SET_MEM_TABLE. */
    static final int MAX_REGIONS = 8;

    private MemTable() {}
  }

  /** ADD_MEM_REG / REM_MEM_REG: u64 padding, then one region description. */
  static final class SingleMemRegion {
    static final int REGION = 8;
    static final int SIZE = 8 + MemRegion.SIZE;

    private SingleMemRegion() {}
  }

  /** GET_CONFIG / SET_CONFIG: u32 offset, u32 size, u32 flags, then size bytes. */
  static final class DeviceConfig {
    static final int OFFSET = 0;
    static final int SIZE_FIELD = 4;
    static final int FLAGS = 8;
    static final int PAYLOAD = 12;

    /** VHOST_USER_MAX_CONFIG_SIZE. */
    static final int MAX_CONFIG_SIZE = 256;

    private DeviceConfig() {}
  }

  /** Back-end to front-end requests on the SET_BACKEND_REQ_FD channel. */
  static final class BackendRequest {
    static final int CONFIG_CHANGE_MSG = 2;

    private BackendRequest() {}
  }
}
