package dev.vdisk.virtio.blk;

/**
 * virtio-blk request types (the header's {@code type}, virtio 1.2 "Device Operation"; vdisk spec
 * section 10.2) and the statistics bucket each one is counted in.
 */
public final class BlkRequestType {
  public static final int IN = 0;
  public static final int OUT = 1;
  public static final int SCSI_CMD = 2;
  public static final int SCSI_CMD_OUT = 3;
  public static final int FLUSH = 4;

  /** Legacy synonym of FLUSH; answered like FLUSH (the spec allows either that or UNSUPP). */
  public static final int FLUSH_OUT = 5;

  public static final int GET_ID = 8;
  public static final int GET_LIFETIME = 10;
  public static final int DISCARD = 11;
  public static final int WRITE_ZEROES = 13;
  public static final int SECURE_ERASE = 14;

  /** Length of the GET_ID answer: the serial, NUL-padded, no NUL when all 20 bytes are used. */
  public static final int ID_BYTES = 20;

  /** Length of the GET_LIFETIME answer: three le16 fields. */
  public static final int LIFETIME_BYTES = 6;

  // Statistics buckets.
  public static final int STAT_IN = 0;
  public static final int STAT_OUT = 1;
  public static final int STAT_FLUSH = 2;
  public static final int STAT_GET_ID = 3;
  public static final int STAT_GET_LIFETIME = 4;
  public static final int STAT_DISCARD = 5;
  public static final int STAT_WRITE_ZEROES = 6;
  public static final int STAT_SECURE_ERASE = 7;
  public static final int STAT_OTHER = 8;
  public static final int STAT_COUNT = 9;

  private static final String[] STAT_NAMES = {
    "in",
    "out",
    "flush",
    "get_id",
    "get_lifetime",
    "discard",
    "write_zeroes",
    "secure_erase",
    "other"
  };

  private BlkRequestType() {}

  /** Statistics bucket of a header type (anything unknown is OTHER). */
  public static int statBucket(long type) {
    if (type == IN) {
      return STAT_IN;
    } else if (type == OUT) {
      return STAT_OUT;
    } else if (type == FLUSH || type == FLUSH_OUT) {
      return STAT_FLUSH;
    } else if (type == GET_ID) {
      return STAT_GET_ID;
    } else if (type == GET_LIFETIME) {
      return STAT_GET_LIFETIME;
    } else if (type == DISCARD) {
      return STAT_DISCARD;
    } else if (type == WRITE_ZEROES) {
      return STAT_WRITE_ZEROES;
    } else if (type == SECURE_ERASE) {
      return STAT_SECURE_ERASE;
    }
    return STAT_OTHER;
  }

  public static String statName(int bucket) {
    return STAT_NAMES[bucket];
  }
}
