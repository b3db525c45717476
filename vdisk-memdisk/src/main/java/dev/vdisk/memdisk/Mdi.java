package dev.vdisk.memdisk;

import dev.vdisk.api.ReadableGuestMemory;

/**
 * Flyweight over the MEMDISK info block (MDI, spec §5.3) and the patch area after it (§5.4), as
 * syslinux 6.04 lays them out ({@code memdisk/mstructs.h}: {@code struct mdi}, {@code struct
 * patch_area}). Offsets are from the MDI start (mBFT + 40).
 *
 * <pre>
 *  MDI (checksummed)                      patch area (6.04, only when bytes == 30)
 *   0 bytes u16   2 minor  3 major         30 driveshiftlimit  34 memint1588 u16
 *   4 diskbuf u32  8 disksize u32          36 cylinders u16  38 heads u16  40 sectors u32
 *  12 cmdline seg:off                      44 mem1mb u32  48 mem16mb u32
 *  16 oldint13  20 oldint15                52 driveno 53 drivetype 54 drivecnt 55 configflags
 *  24 olddosmem u16                        56 mystack u16  58 statusptr u16
 *  26 bootloaderid  27 sector_shift        60 dpt[16]  76 old_int1e  80 edd_dpt[74]
 *  28 dpt_ptr u16                         154 cd_pkt[19] (ISO builds)
 * </pre>
 */
public final class Mdi {
  public static final int BYTES_OFFSET = 0;
  public static final int VERSION_MINOR_OFFSET = 2;
  public static final int VERSION_MAJOR_OFFSET = 3;
  public static final int DISKBUF_OFFSET = 4;
  public static final int DISKSIZE_OFFSET = 8;
  public static final int CMDLINE_OFFSET = 12;
  public static final int OLDINT13_OFFSET = 16;
  public static final int OLDINT15_OFFSET = 20;
  public static final int OLDDOSMEM_OFFSET = 24;
  public static final int BOOTLOADERID_OFFSET = 26;
  public static final int SECTOR_SHIFT_OFFSET = 27;
  public static final int DPT_PTR_OFFSET = 28;

  /** MDI sizes: MEMDISK before 3.00, 3.00-3.70, 3.71 and later. */
  public static final int MIN_BYTES = 26;

  public static final int BYTES_3_00 = 27;
  public static final int BYTES_3_71 = 30;

  // Patch area (MEMDISK 6.04), outside the mBFT checksum.
  public static final int DRIVESHIFTLIMIT_OFFSET = 30;
  public static final int MEMINT1588_OFFSET = 34;
  public static final int CYLINDERS_OFFSET = 36;
  public static final int HEADS_OFFSET = 38;
  public static final int SECTORS_OFFSET = 40;
  public static final int MEM1MB_OFFSET = 44;
  public static final int MEM16MB_OFFSET = 48;
  public static final int DRIVENO_OFFSET = 52;
  public static final int DRIVETYPE_OFFSET = 53;
  public static final int DRIVECNT_OFFSET = 54;
  public static final int CONFIGFLAGS_OFFSET = 55;
  public static final int MYSTACK_OFFSET = 56;
  public static final int STATUSPTR_OFFSET = 58;
  public static final int DPT_OFFSET = 60;
  public static final int OLD_INT1E_OFFSET = 76;

  /** Bytes of MDI plus patch area a parser needs for geometry, drive number and flags. */
  public static final int PATCH_AREA_SIZE = 60;

  /** Through old_int1e: what every 6.04 build (CHS, EDD, ISO) has. */
  public static final int CHS_BUILD_SIZE = 80;

  /** EDD/ISO builds: INT 13h AH=48h parameter table. */
  public static final int EDD_OFFSET = 80;

  public static final int EDD_SIZE = 74;

  /** ISO builds: El Torito specification packet. */
  public static final int CD_PACKET_OFFSET = 154;

  public static final int CD_PACKET_SIZE = 19;

  /** configflags bits. */
  public static final int CONFIG_READONLY = 0x01;

  public static final int CONFIG_RAW = 0x02;
  public static final int CONFIG_SAFEINT = 0x04;
  public static final int CONFIG_BIGRAW = 0x08;

  /** driveno MEMDISK uses for a no-emulation El Torito CD (with sector_shift 11). */
  public static final int DRIVENO_CDROM = 0xE0;

  // EDD table, offsets from EDD_OFFSET.
  public static final int EDD_LENGTH_OFFSET = 0;
  public static final int EDD_FLAGS_OFFSET = 2;
  public static final int EDD_CYLINDERS_OFFSET = 4;
  public static final int EDD_HEADS_OFFSET = 8;
  public static final int EDD_SECTORS_OFFSET = 12;
  public static final int EDD_TOTAL_SECTORS_OFFSET = 16;
  public static final int EDD_BYTES_PER_SECTOR_OFFSET = 24;
  public static final int EDD_DPTE_OFFSET = 26;
  public static final int EDD_KEY_OFFSET = 30;

  /** Value of the EDD table's length word in MEMDISK's builds. */
  public static final int EDD_LENGTH = 30;

  /** Device-path-information key that marks a filled EDD 3.0 table. */
  public static final int EDD_KEY = 0xBEDD;

  /** EDD flags bit 1: CHS information valid. */
  public static final int EDD_FLAG_CHS_VALID = 0x02;

  // El Torito specification packet, offsets from CD_PACKET_OFFSET.
  public static final int CD_SIZE_OFFSET = 0;
  public static final int CD_MEDIA_OFFSET = 1;
  public static final int CD_DRIVE_OFFSET = 2;
  public static final int CD_START_OFFSET = 4;
  public static final int CD_LOAD_SEGMENT_OFFSET = 12;
  public static final int CD_SECTOR_COUNT_OFFSET = 14;

  /** The packet's size byte. */
  public static final int CD_PACKET_MARK = 0x13;

  private ReadableGuestMemory memory;
  private long address;

  public Mdi wrap(ReadableGuestMemory memory, long address) {
    this.memory = memory;
    this.address = address;
    return this;
  }

  public long address() {
    return address;
  }

  public int bytes() {
    return memory.u16(address + BYTES_OFFSET);
  }

  public int versionMinor() {
    return memory.u8(address + VERSION_MINOR_OFFSET);
  }

  public int versionMajor() {
    return memory.u8(address + VERSION_MAJOR_OFFSET);
  }

  public long diskbuf() {
    return memory.u32(address + DISKBUF_OFFSET);
  }

  public long disksize() {
    return memory.u32(address + DISKSIZE_OFFSET);
  }

  public long cmdline() {
    return memory.u32(address + CMDLINE_OFFSET);
  }

  public long oldInt13() {
    return memory.u32(address + OLDINT13_OFFSET);
  }

  public long oldInt15() {
    return memory.u32(address + OLDINT15_OFFSET);
  }

  public int oldDosMemKib() {
    return memory.u16(address + OLDDOSMEM_OFFSET);
  }

  public int bootLoaderId() {
    return memory.u8(address + BOOTLOADERID_OFFSET);
  }

  public int sectorShift() {
    return memory.u8(address + SECTOR_SHIFT_OFFSET);
  }

  public int dptPointer() {
    return memory.u16(address + DPT_PTR_OFFSET);
  }

  public int u8(int offset) {
    return memory.u8(address + offset);
  }

  public int u16(int offset) {
    return memory.u16(address + offset);
  }

  public long u32(int offset) {
    return memory.u32(address + offset);
  }

  public long u64(int offset) {
    return memory.u64(address + offset);
  }
}
