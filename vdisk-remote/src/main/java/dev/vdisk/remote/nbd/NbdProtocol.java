package dev.vdisk.remote.nbd;

/**
 * Wire constants of the NBD protocol (NetworkBlockDevice/nbd {@code doc/proto.md}); everything is
 * big-endian. Layouts:
 *
 * <pre>
 * request (28 bytes + WRITE payload)        simple reply (16 bytes + READ data)
 *   0  u32 magic 0x25609513                   0  u32 magic 0x67446698
 *   4  u16 command flags                      4  u32 error
 *   6  u16 type                               8  u64 handle
 *   8  u64 handle
 *  16  u64 offset                           structured reply chunk (20 bytes + payload)
 *  24  u32 length                             0  u32 magic 0x668e33ef
 *                                             4  u16 flags (bit 0 DONE)
 * option request (16 bytes + data)            6  u16 type
 *   0  u64 IHAVEOPT                           8  u64 handle
 *   8  u32 option                            16  u32 payload length
 *  12  u32 length
 *                                           option reply (20 bytes + data)
 *                                             0  u64 0x3e889045565a9
 *                                             8  u32 option, 12 u32 type, 16 u32 length
 * </pre>
 */
public final class NbdProtocol {
  private NbdProtocol() {}

  public static final int DEFAULT_PORT = 10809;

  public static final long NBDMAGIC = 0x4e42444d41474943L;
  public static final long IHAVEOPT = 0x49484156454F5054L;
  public static final long OPT_REPLY_MAGIC = 0x3e889045565a9L;
  public static final int REQUEST_MAGIC = 0x25609513;
  public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

  public static final int REQUEST_SIZE = 28;
  public static final int SIMPLE_REPLY_SIZE = 16;
  public static final int CHUNK_HEADER_SIZE = 20;
  public static final int OPTION_HEADER_SIZE = 16;
  public static final int OPTION_REPLY_HEADER_SIZE = 20;

  // Handshake flags (server) and client flags.
  public static final int FLAG_FIXED_NEWSTYLE = 1;
  public static final int FLAG_NO_ZEROES = 2;

  // Options.
  public static final int OPT_EXPORT_NAME = 1;
  public static final int OPT_ABORT = 2;
  public static final int OPT_LIST = 3;
  public static final int OPT_STARTTLS = 5;
  public static final int OPT_INFO = 6;
  public static final int OPT_GO = 7;
  public static final int OPT_STRUCTURED_REPLY = 8;
  public static final int OPT_LIST_META_CONTEXT = 9;
  public static final int OPT_SET_META_CONTEXT = 10;

  // Option reply types.
  public static final int REP_ACK = 1;
  public static final int REP_SERVER = 2;
  public static final int REP_INFO = 3;
  public static final int REP_META_CONTEXT = 4;
  public static final int REP_FLAG_ERROR = 1 << 31;
  public static final int REP_ERR_UNSUP = REP_FLAG_ERROR | 1;
  public static final int REP_ERR_POLICY = REP_FLAG_ERROR | 2;
  public static final int REP_ERR_INVALID = REP_FLAG_ERROR | 3;
  public static final int REP_ERR_PLATFORM = REP_FLAG_ERROR | 4;
  public static final int REP_ERR_TLS_REQD = REP_FLAG_ERROR | 5;
  public static final int REP_ERR_UNKNOWN = REP_FLAG_ERROR | 6;
  public static final int REP_ERR_SHUTDOWN = REP_FLAG_ERROR | 7;
  public static final int REP_ERR_BLOCK_SIZE_REQD = REP_FLAG_ERROR | 8;
  public static final int REP_ERR_TOO_BIG = REP_FLAG_ERROR | 9;

  // Info types.
  public static final int INFO_EXPORT = 0;
  public static final int INFO_NAME = 1;
  public static final int INFO_DESCRIPTION = 2;
  public static final int INFO_BLOCK_SIZE = 3;

  // Transmission flags.
  public static final int TF_HAS_FLAGS = 1;
  public static final int TF_READ_ONLY = 1 << 1;
  public static final int TF_SEND_FLUSH = 1 << 2;
  public static final int TF_SEND_FUA = 1 << 3;
  public static final int TF_ROTATIONAL = 1 << 4;
  public static final int TF_SEND_TRIM = 1 << 5;
  public static final int TF_SEND_WRITE_ZEROES = 1 << 6;
  public static final int TF_SEND_DF = 1 << 7;
  public static final int TF_CAN_MULTI_CONN = 1 << 8;
  public static final int TF_SEND_CACHE = 1 << 10;
  public static final int TF_SEND_FAST_ZERO = 1 << 11;

  // Commands.
  public static final int CMD_READ = 0;
  public static final int CMD_WRITE = 1;
  public static final int CMD_DISC = 2;
  public static final int CMD_FLUSH = 3;
  public static final int CMD_TRIM = 4;
  public static final int CMD_CACHE = 5;
  public static final int CMD_WRITE_ZEROES = 6;
  public static final int CMD_BLOCK_STATUS = 7;

  // Command flags.
  public static final int CMD_FLAG_FUA = 1;
  public static final int CMD_FLAG_NO_HOLE = 1 << 1;
  public static final int CMD_FLAG_DF = 1 << 2;
  public static final int CMD_FLAG_REQ_ONE = 1 << 3;
  public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

  // Structured reply chunk flags and types.
  public static final int REPLY_FLAG_DONE = 1;
  public static final int REPLY_TYPE_NONE = 0;
  public static final int REPLY_TYPE_OFFSET_DATA = 1;
  public static final int REPLY_TYPE_OFFSET_HOLE = 2;
  public static final int REPLY_TYPE_BLOCK_STATUS = 5;
  public static final int REPLY_TYPE_ERROR_BIT = 1 << 15;
  public static final int REPLY_TYPE_ERROR = REPLY_TYPE_ERROR_BIT | 1;
  public static final int REPLY_TYPE_ERROR_OFFSET = REPLY_TYPE_ERROR_BIT | 2;

  // base:allocation status flags.
  public static final int STATE_HOLE = 1;
  public static final int STATE_ZERO = 2;

  public static final String BASE_ALLOCATION = "base:allocation";

  // Errors.
  public static final int EPERM = 1;
  public static final int EIO = 5;
  public static final int ENOMEM = 12;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EOVERFLOW = 75;
  public static final int ENOTSUP = 95;
  public static final int ESHUTDOWN = 108;

  /** Largest payload both sides assume when no BLOCK_SIZE info says otherwise. */
  public static final int DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;

  /** Longest export name or description either side accepts (the protocol's own limit). */
  public static final int MAX_STRING = 4096;

  public static String errnoName(int errno) {
    return switch (errno) {
      case EPERM -> "EPERM";
      case EIO -> "EIO";
      case ENOMEM -> "ENOMEM";
      case EINVAL -> "EINVAL";
      case ENOSPC -> "ENOSPC";
      case EOVERFLOW -> "EOVERFLOW";
      case ENOTSUP -> "ENOTSUP";
      case ESHUTDOWN -> "ESHUTDOWN";
      default -> "errno " + Integer.toUnsignedString(errno);
    };
  }

  public static String commandName(int type) {
    return switch (type) {
      case CMD_READ -> "READ";
      case CMD_WRITE -> "WRITE";
      case CMD_DISC -> "DISC";
      case CMD_FLUSH -> "FLUSH";
      case CMD_TRIM -> "TRIM";
      case CMD_CACHE -> "CACHE";
      case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
      case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
      default -> "command " + type;
    };
  }

  public static String optionReplyName(int type) {
    return switch (type) {
      case REP_ACK -> "ACK";
      case REP_SERVER -> "SERVER";
      case REP_INFO -> "INFO";
      case REP_META_CONTEXT -> "META_CONTEXT";
      case REP_ERR_UNSUP -> "ERR_UNSUP";
      case REP_ERR_POLICY -> "ERR_POLICY";
      case REP_ERR_INVALID -> "ERR_INVALID";
      case REP_ERR_PLATFORM -> "ERR_PLATFORM";
      case REP_ERR_TLS_REQD -> "ERR_TLS_REQD";
      case REP_ERR_UNKNOWN -> "ERR_UNKNOWN";
      case REP_ERR_SHUTDOWN -> "ERR_SHUTDOWN";
      case REP_ERR_BLOCK_SIZE_REQD -> "ERR_BLOCK_SIZE_REQD";
      case REP_ERR_TOO_BIG -> "ERR_TOO_BIG";
      default -> "reply type 0x" + Integer.toHexString(type);
    };
  }
}
