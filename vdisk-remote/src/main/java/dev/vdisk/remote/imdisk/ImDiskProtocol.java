package dev.vdisk.remote.imdisk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * ImDisk's proxy protocol (LTRData/ImDisk {@code inc/imdproxy.h}, served by {@code devio}). Every
 * field is an unsigned 64-bit little-endian integer; there is no padding and no request id: one
 * request at a time, strictly request then response. Layouts (byte offsets):
 *
 * <pre>
 * INFO    req:  0 code=1                              resp:  0 file_size  8 req_alignment  16 flags
 * READ    req:  0 code=2   8 offset  16 length        resp:  0 errorno    8 length, then data if errorno == 0
 * WRITE   req:  0 code=3   8 offset  16 length, data  resp:  0 errorno    8 length
 * CONNECT req:  0 code=4   8 flags   16 length, UTF-16LE string           resp: 0 error_code  8 object_ptr
 * CLOSE   req:  0 code=5                              (no response; the stream closes)
 * UNMAP   req:  0 code=6   8 length, ranges           resp:  0 errorno
 * ZERO    req:  0 code=7   8 length, ranges           resp:  0 errorno
 * range (16 bytes): 0 starting_offset (signed)  8 length_in_bytes
 * </pre>
 */
public final class ImDiskProtocol {
  private ImDiskProtocol() {}

  public static final int DEFAULT_PORT = 9000;

  public static final long REQ_NULL = 0;
  public static final long REQ_INFO = 1;
  public static final long REQ_READ = 2;
  public static final long REQ_WRITE = 3;
  public static final long REQ_CONNECT = 4;
  public static final long REQ_CLOSE = 5;
  public static final long REQ_UNMAP = 6;
  public static final long REQ_ZERO = 7;
  public static final long REQ_SCSI = 8;
  public static final long REQ_SHARED = 9;

  public static final long FLAG_RO = 0x01;
  public static final long FLAG_SUPPORTS_UNMAP = 0x02;
  public static final long FLAG_SUPPORTS_ZERO = 0x04;
  public static final long FLAG_SUPPORTS_SCSI = 0x08;
  public static final long FLAG_SUPPORTS_SHARED = 0x10;
  public static final long FLAG_KEEP_OPEN = 0x20;

  public static final int INFO_REQUEST_SIZE = 8;
  public static final int INFO_RESPONSE_SIZE = 24;
  public static final int IO_REQUEST_SIZE = 24;
  public static final int IO_RESPONSE_SIZE = 16;
  public static final int RANGE_REQUEST_HEADER_SIZE = 16;
  public static final int RANGE_SIZE = 16;
  public static final int RANGE_RESPONSE_SIZE = 8;
  public static final int CONNECT_HEADER_SIZE = 24;
  public static final int CONNECT_RESPONSE_SIZE = 16;

  /** Largest CONNECT string the driver sends, in bytes (260 UTF-16 characters). */
  public static final int MAX_CONNECT_STRING = 520;

  /** Linux errno values devio answers with. */
  public static final long EBADF = 9;

  public static final long EIO = 5;
  public static final long EINVAL = 22;
  public static final long ENODEV = 19;

  /** The driver accepts only alignments 1..512. */
  public static final long MAX_ALIGNMENT = 512;

  static ByteBuffer le(int size) {
    return ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Encodes INFO. */
  public static ByteBuffer info(ByteBuffer b) {
    b.clear();
    return b.putLong(REQ_INFO).flip();
  }

  /** Encodes READ or WRITE's fixed part. */
  public static ByteBuffer io(ByteBuffer b, long code, long offset, long length) {
    b.clear();
    return b.putLong(code).putLong(offset).putLong(length).flip();
  }

  /** Encodes UNMAP or ZERO with one range. */
  public static ByteBuffer range(ByteBuffer b, long code, long offset, long length) {
    b.clear();
    return b.putLong(code).putLong(RANGE_SIZE).putLong(offset).putLong(length).flip();
  }

  /** Encodes CONNECT (flags 0, as the helper service sends it to a TCP server). */
  public static ByteBuffer connect(String path) {
    byte[] s = path.getBytes(StandardCharsets.UTF_16LE);
    if (s.length == 0 || s.length > MAX_CONNECT_STRING) {
      throw new IllegalArgumentException(
          "CONNECT path of " + s.length + " bytes (expected 1.." + MAX_CONNECT_STRING + ")");
    }
    ByteBuffer b =
        ByteBuffer.allocate(CONNECT_HEADER_SIZE + s.length).order(ByteOrder.LITTLE_ENDIAN);
    return b.putLong(REQ_CONNECT).putLong(0).putLong(s.length).put(s).flip();
  }

  public static ByteBuffer close(ByteBuffer b) {
    b.clear();
    return b.putLong(REQ_CLOSE).flip();
  }

  public static String codeName(long code) {
    return switch ((int) Math.min(code, 100)) {
      case 0 -> "NULL";
      case 1 -> "INFO";
      case 2 -> "READ";
      case 3 -> "WRITE";
      case 4 -> "CONNECT";
      case 5 -> "CLOSE";
      case 6 -> "UNMAP";
      case 7 -> "ZERO";
      case 8 -> "SCSI";
      case 9 -> "SHARED";
      default -> "code " + Long.toUnsignedString(code);
    };
  }
}
