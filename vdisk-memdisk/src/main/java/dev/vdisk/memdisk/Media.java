package dev.vdisk.memdisk;

/**
 * What the loader emulates: the BIOS drive class, which decides the sector size a guest expects.
 */
public enum Media {
  FLOPPY,
  HARD_DISK,
  /** El Torito no-emulation CD-ROM: 2048-byte sectors. */
  CDROM
}
