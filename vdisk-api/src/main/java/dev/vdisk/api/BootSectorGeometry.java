package dev.vdisk.api;

/**
 * Guesses heads and sectors per track from an image's first sector, the way WinAoE/WinVBlock's
 * {@code disk__guess_geometry} (and syslinux MEMDISK before it) do:
 *
 * <ol>
 *   <li>a FAT boot sector whose BPB looks real (jump opcode, media byte, sector size, extended boot
 *       signature 0x29 and a "FAT" file-system type) gives {@code BPB_NumHeads} and {@code
 *       BPB_SecPerTrk};
 *   <li>otherwise an MBR (0x55 0xAA at 510) gives, over its four entries that are in use (type not
 *       0, status 0x00 or 0x80), the largest head + 1 and the largest sector number of their start
 *       and end CHS addresses;
 *   <li>a value not found defaults to 255 heads / 63 sectors; cylinders = total sectors / (heads x
 *       sectors), at least 1.
 * </ol>
 *
 * <pre>
 * FAT boot sector (little-endian)          MBR
 *   0  jump (EB xx 90 | E9 xx xx)          446 + 16*i  partition entry i (0..3):
 *  11  u16 bytes per sector                   +0  status (0x80 active)
 *  21  u8  media descriptor                   +1  start CHS: head, sector|cyl-hi&lt;&lt;6, cyl-lo
 *  22  u16 sectors per FAT (0 on FAT32)       +4  type (0 = unused)
 *  24  u16 sectors per track                  +5  end CHS
 *  26  u16 heads                            510  0x55 0xAA
 *  38  u8  boot signature 0x29 (FAT12/16), 54 "FAT..."
 *  66  u8  boot signature 0x29 (FAT32),    82 "FAT..."
 * </pre>
 */
public final class BootSectorGeometry {
  /** Bytes of the first sector this class reads. */
  public static final int SECTOR_SIZE = 512;

  static final int BPB_BYTES_PER_SECTOR_OFFSET = 11;
  static final int BPB_MEDIA_OFFSET = 21;
  static final int BPB_FAT_SIZE_16_OFFSET = 22;
  static final int BPB_SECTORS_PER_TRACK_OFFSET = 24;
  static final int BPB_HEADS_OFFSET = 26;
  static final int FAT16_EXTRA_OFFSET = 36;
  static final int FAT32_EXTRA_OFFSET = 64;
  static final int EXTRA_BOOT_SIGNATURE_OFFSET = 2;
  static final int EXTRA_FS_TYPE_OFFSET = 18;
  static final int EXTENDED_BOOT_SIGNATURE = 0x29;

  static final int MBR_PARTITION_TABLE_OFFSET = 446;
  static final int MBR_ENTRY_SIZE = 16;
  static final int MBR_ENTRY_STATUS_OFFSET = 0;
  static final int MBR_ENTRY_START_CHS_OFFSET = 1;
  static final int MBR_ENTRY_TYPE_OFFSET = 4;
  static final int MBR_ENTRY_END_CHS_OFFSET = 5;
  static final int MBR_SIGNATURE_OFFSET = 510;

  static final int DEFAULT_HEADS = 255;
  static final int DEFAULT_SECTORS_PER_TRACK = 63;

  private BootSectorGeometry() {}

  /**
   * The geometry the sector suggests for a disk of {@code sizeBytes}, or null when it holds neither
   * a plausible FAT boot sector nor an MBR with a partition in use.
   *
   * @param sector the disk's first sector; at least {@link #SECTOR_SIZE} bytes
   */
  public static Geometry guess(byte[] sector, long sizeBytes, int bytesPerSector) {
    if (sector.length < SECTOR_SIZE) {
      throw new IllegalArgumentException(
          "boot sector of " + sector.length + " bytes (expected at least " + SECTOR_SIZE + ")");
    }
    if (sizeBytes < 0) {
      throw new IllegalArgumentException("size " + sizeBytes + " (expected >= 0)");
    }
    int heads;
    int sectors;
    if (looksLikeFat(sector, bytesPerSector)) {
      heads = u16(sector, BPB_HEADS_OFFSET);
      sectors = u16(sector, BPB_SECTORS_PER_TRACK_OFFSET);
    } else if (u8(sector, MBR_SIGNATURE_OFFSET) == 0x55
        && u8(sector, MBR_SIGNATURE_OFFSET + 1) == 0xaa) {
      heads = 0;
      sectors = 0;
      for (int i = 0; i < 4; i++) {
        int entry = MBR_PARTITION_TABLE_OFFSET + i * MBR_ENTRY_SIZE;
        if ((u8(sector, entry + MBR_ENTRY_STATUS_OFFSET) & 0x7f) != 0
            || u8(sector, entry + MBR_ENTRY_TYPE_OFFSET) == 0) {
          continue;
        }
        for (int chs : new int[] {MBR_ENTRY_START_CHS_OFFSET, MBR_ENTRY_END_CHS_OFFSET}) {
          heads = Math.max(heads, u8(sector, entry + chs) + 1);
          sectors = Math.max(sectors, u8(sector, entry + chs + 1) & 0x3f);
        }
      }
      if (heads == 0 && sectors == 0) {
        return null;
      }
    } else {
      return null;
    }
    if (heads == 0) {
      heads = DEFAULT_HEADS;
    }
    if (sectors == 0) {
      sectors = DEFAULT_SECTORS_PER_TRACK;
    }
    long cylinders = Math.max(1, sizeBytes / bytesPerSector / ((long) heads * sectors));
    return new Geometry(cylinders, heads, sectors, bytesPerSector);
  }

  private static boolean looksLikeFat(byte[] s, int bytesPerSector) {
    int jump = u8(s, 0);
    int media = u8(s, BPB_MEDIA_OFFSET);
    int heads = u16(s, BPB_HEADS_OFFSET);
    int sectors = u16(s, BPB_SECTORS_PER_TRACK_OFFSET);
    if ((jump != 0xe9 && jump != 0xeb)
        || (media != 0xf0 && media < 0xf8)
        || u16(s, BPB_BYTES_PER_SECTOR_OFFSET) != bytesPerSector
        || heads < 1
        || heads > 256
        || sectors < 1
        || sectors > 63) {
      return false;
    }
    int extra = u16(s, BPB_FAT_SIZE_16_OFFSET) != 0 ? FAT16_EXTRA_OFFSET : FAT32_EXTRA_OFFSET;
    return u8(s, extra + EXTRA_BOOT_SIGNATURE_OFFSET) == EXTENDED_BOOT_SIGNATURE
        && s[extra + EXTRA_FS_TYPE_OFFSET] == 'F'
        && s[extra + EXTRA_FS_TYPE_OFFSET + 1] == 'A'
        && s[extra + EXTRA_FS_TYPE_OFFSET + 2] == 'T';
  }

  private static int u8(byte[] b, int offset) {
    return b[offset] & 0xff;
  }

  private static int u16(byte[] b, int offset) {
    return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8;
  }
}
