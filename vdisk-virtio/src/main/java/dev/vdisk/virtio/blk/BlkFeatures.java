package dev.vdisk.virtio.blk;

/** virtio-blk feature bits (virtio 1.2 "Block Device" feature bits; vdisk spec section 6.2). */
public final class BlkFeatures {
  /** Legacy only: request barriers. Never offered. */
  public static final int BARRIER = 0;

  public static final int SIZE_MAX = 1;
  public static final int SEG_MAX = 2;
  public static final int GEOMETRY = 4;
  public static final int RO = 5;
  public static final int BLK_SIZE = 6;

  /** Legacy only: SCSI packet commands. Never offered. */
  public static final int SCSI = 7;

  public static final int FLUSH = 9;
  public static final int TOPOLOGY = 10;
  public static final int CONFIG_WCE = 11;
  public static final int MQ = 12;
  public static final int DISCARD = 13;
  public static final int WRITE_ZEROES = 14;
  public static final int LIFETIME = 15;
  public static final int SECURE_ERASE = 16;

  /** Zoned block devices (1.3). Never offered: no zoned backend exists. */
  public static final int ZONED = 17;

  private BlkFeatures() {}
}
