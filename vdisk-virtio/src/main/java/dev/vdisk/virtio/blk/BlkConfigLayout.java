package dev.vdisk.virtio.blk;

/**
 * Offsets of {@code struct virtio_blk_config} (virtio 1.3 "Device configuration layout"; vdisk spec
 * section 10.1), all little-endian.
 *
 * <pre>
 * 0x00 le64 capacity (512-byte sectors)      0x24 le32 max_discard_sectors
 * 0x08 le32 size_max                         0x28 le32 max_discard_seg
 * 0x0C le32 seg_max                          0x2C le32 discard_sector_alignment
 * 0x10 le16 geometry.cylinders               0x30 le32 max_write_zeroes_sectors
 * 0x12 u8   geometry.heads                   0x34 le32 max_write_zeroes_seg
 * 0x13 u8   geometry.sectors                 0x38 u8   write_zeroes_may_unmap
 * 0x14 le32 blk_size                         0x39 u8[3] unused1
 * 0x18 u8   topology.physical_block_exp      0x3C le32 max_secure_erase_sectors
 * 0x19 u8   topology.alignment_offset        0x40 le32 max_secure_erase_seg
 * 0x1A le16 topology.min_io_size             0x44 le32 secure_erase_sector_alignment
 * 0x1C le32 topology.opt_io_size             0x48 .. 0x5F zoned characteristics (never offered)
 * 0x20 u8   writeback
 * 0x21 u8   unused0
 * 0x22 le16 num_queues
 * </pre>
 */
public final class BlkConfigLayout {
  public static final int CAPACITY = 0x00;
  public static final int SIZE_MAX = 0x08;
  public static final int SEG_MAX = 0x0C;
  public static final int GEOMETRY_CYLINDERS = 0x10;
  public static final int GEOMETRY_HEADS = 0x12;
  public static final int GEOMETRY_SECTORS = 0x13;
  public static final int BLK_SIZE = 0x14;
  public static final int TOPOLOGY_PHYSICAL_BLOCK_EXP = 0x18;
  public static final int TOPOLOGY_ALIGNMENT_OFFSET = 0x19;
  public static final int TOPOLOGY_MIN_IO_SIZE = 0x1A;
  public static final int TOPOLOGY_OPT_IO_SIZE = 0x1C;
  public static final int WRITEBACK = 0x20;
  public static final int NUM_QUEUES = 0x22;
  public static final int MAX_DISCARD_SECTORS = 0x24;
  public static final int MAX_DISCARD_SEG = 0x28;
  public static final int DISCARD_SECTOR_ALIGNMENT = 0x2C;
  public static final int MAX_WRITE_ZEROES_SECTORS = 0x30;
  public static final int MAX_WRITE_ZEROES_SEG = 0x34;
  public static final int WRITE_ZEROES_MAY_UNMAP = 0x38;
  public static final int MAX_SECURE_ERASE_SECTORS = 0x3C;
  public static final int MAX_SECURE_ERASE_SEG = 0x40;
  public static final int SECURE_ERASE_SECTOR_ALIGNMENT = 0x44;

  /** Size of the whole structure including the zoned fields. */
  public static final int SIZE = 0x60;

  /** Size of one DISCARD / WRITE_ZEROES / SECURE_ERASE range in the request data. */
  public static final int RANGE_SIZE = 16;

  public static final int RANGE_SECTOR = 0;
  public static final int RANGE_NUM_SECTORS = 8;
  public static final int RANGE_FLAGS = 12;

  /** Range flag: the device may deallocate (WRITE_ZEROES only; UNSUPP on the others). */
  public static final int RANGE_F_UNMAP = 1;

  /** The request header: le32 type, le32 reserved (legacy ioprio), le64 sector. */
  public static final int HEADER_SIZE = 16;

  public static final int HEADER_TYPE = 0;
  public static final int HEADER_SECTOR = 8;

  /** The protocol's sector size, whatever blk_size says. */
  public static final int SECTOR_SIZE = 512;

  public static final int SECTOR_SHIFT = 9;

  private BlkConfigLayout() {}
}
