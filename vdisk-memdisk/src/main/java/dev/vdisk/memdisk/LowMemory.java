package dev.vdisk.memdisk;

/**
 * Landmarks of a PC's first MiB (spec §2): where the hook chain starts and which ranges a RAM disk
 * may never overlap.
 */
public final class LowMemory {
  /** INT 13h vector (disk services): the start of the hook chain. */
  public static final long INT13_VECTOR = 0x4C;

  /** INT 15h vector: both loaders hook it to hide their RAM from the E820 map. */
  public static final long INT15_VECTOR = 0x54;

  /** INT 1Eh vector (floppy parameter table). */
  public static final long INT1E_VECTOR = 0x78;

  /** BDA: EBDA segment. */
  public static final long EBDA_SEGMENT = 0x40E;

  /** BDA: usable base memory in KiB; loaders lower it to reserve their resident block. */
  public static final long BASE_MEMORY_KIB = 0x413;

  /** BDA: number of BIOS hard disks. */
  public static final long HARD_DISK_COUNT = 0x475;

  /** End of the IVT and BDA: no hook, table or disk lives below this. */
  public static final long IVT_BDA_END = 0x500;

  /** Start of video memory and ROMs (to 1 MiB): no RAM disk lives here. */
  public static final long LEGACY_HOLE_START = 0xA0000;

  /** Start of the BIOS/option ROM area where a hook chain normally ends. */
  public static final long ROM_AREA_START = 0xC0000;

  /** One MiB: every structure of the spec lives below it. */
  public static final long FIRST_MIB = 0x100000;

  private LowMemory() {}
}
