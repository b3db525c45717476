package dev.vdisk.remote.aoe;

import java.nio.ByteBuffer;

/**
 * AoE (AoEr11) frame layout; all fields big-endian except the ATA LBA bytes (least significant
 * first). Offsets are from the start of the Ethernet frame:
 *
 * <pre>
 *  0 dst MAC   6 src MAC   12 EtherType 0x88A2
 * 14 ver(4) | flags(4)     15 error   16 major (shelf, u16)   18 minor (slot)   19 command
 * 20 tag (u32)             24 arg ...
 * ATA arg:   24 aflags  25 err/feature  26 sector count  27 cmd/status  28..33 LBA0..LBA5
 *            34 reserved(2)  36 data
 * Query Config arg: 24 buffer count(u16)  26 firmware(u16)  28 sector count  29 ver(4)|ccmd(4)
 *                   30 config string length (u16)  32 string
 * Reserve/Release arg: 24 rcmd  25 nmacs  26 MACs (6 bytes each)
 * </pre>
 */
public final class AoeFrames {
  private AoeFrames() {}

  public static final int ETHERTYPE = 0x88A2;
  public static final int MIN_FRAME = 60;
  public static final int HEADER = 24;
  public static final int ATA_HEADER = 36;
  public static final int QC_HEADER = 32;
  public static final int SECTOR = 512;

  public static final int DST = 0;
  public static final int SRC = 6;
  public static final int TYPE = 12;
  public static final int VER_FLAGS = 14;
  public static final int ERROR = 15;
  public static final int MAJOR = 16;
  public static final int MINOR = 18;
  public static final int COMMAND = 19;
  public static final int TAG = 20;

  public static final int ATA_AFLAGS = 24;
  public static final int ATA_FEATURE = 25;
  public static final int ATA_COUNT = 26;
  public static final int ATA_CMD_STATUS = 27;
  public static final int ATA_LBA = 28;
  public static final int ATA_DATA = 36;

  public static final int QC_BUFCNT = 24;
  public static final int QC_FIRMWARE = 26;
  public static final int QC_SECTORS = 28;
  public static final int QC_VER_CCMD = 29;
  public static final int QC_LENGTH = 30;

  public static final int RS_CMD = 24;
  public static final int RS_NMACS = 25;
  public static final int RS_MACS = 26;

  public static final int VERSION = 1;
  public static final int FLAG_RESPONSE = 0x8;
  public static final int FLAG_ERROR = 0x4;

  public static final int CMD_ATA = 0;
  public static final int CMD_QUERY_CONFIG = 1;
  public static final int CMD_MAC_MASK = 2;
  public static final int CMD_RESERVE = 3;

  public static final int AFLAG_EXTENDED = 0x40;
  public static final int AFLAG_DEVICE = 0x10;
  public static final int AFLAG_ASYNC = 0x02;
  public static final int AFLAG_WRITE = 0x01;

  public static final int ATA_READ_EXT = 0x24;
  public static final int ATA_WRITE_EXT = 0x34;
  public static final int ATA_IDENTIFY = 0xEC;
  public static final int ATA_FLUSH = 0xE7;

  public static final int ATA_STATUS_ERR = 0x01;
  public static final int ATA_STATUS_DRDY = 0x40;

  public static final int SHELF_ANY = 0xFFFF;
  public static final int SLOT_ANY = 0xFF;

  static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

  /** Writes the common header of a request (version 1, no flags, error 0). */
  static void header(
      ByteBuffer f, byte[] dst, byte[] src, int shelf, int slot, int command, int tag) {
    f.put(DST, dst, 0, 6).put(SRC, src, 0, 6);
    f.putShort(TYPE, (short) ETHERTYPE);
    f.put(VER_FLAGS, (byte) (VERSION << 4)).put(ERROR, (byte) 0);
    f.putShort(MAJOR, (short) shelf).put(MINOR, (byte) slot).put(COMMAND, (byte) command);
    f.putInt(TAG, tag);
  }

  /** Writes an ATA arg block; the LBA goes least significant byte first. */
  static void ata(ByteBuffer f, int aflags, int command, int count, long lba) {
    f.put(ATA_AFLAGS, (byte) aflags).put(ATA_FEATURE, (byte) 0).put(ATA_COUNT, (byte) count);
    f.put(ATA_CMD_STATUS, (byte) command);
    for (int i = 0; i < 6; i++) {
      f.put(ATA_LBA + i, (byte) (lba >>> (8 * i)));
    }
    f.putShort(34, (short) 0);
  }

  /** Zero-pads a frame to the 60-byte Ethernet minimum and returns the length to send. */
  static int pad(ByteBuffer f, int length) {
    for (int i = length; i < MIN_FRAME; i++) {
      f.put(i, (byte) 0);
    }
    return Math.max(length, MIN_FRAME);
  }

  static String errorName(int code) {
    return switch (code) {
      case 1 -> "unrecognized command code (AoE error 1)";
      case 2 -> "bad argument parameter (AoE error 2)";
      case 3 -> "device unavailable (AoE error 3)";
      case 4 -> "config string present (AoE error 4)";
      case 5 -> "unsupported version (AoE error 5)";
      case 6 -> "target is reserved (AoE error 6)";
      default -> "AoE error " + code;
    };
  }

  static String mac(byte[] m) {
    return String.format("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  }
}
