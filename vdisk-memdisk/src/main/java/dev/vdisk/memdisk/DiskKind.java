package dev.vdisk.memdisk;

/** Which boot loader left a RAM disk in memory. */
public enum DiskKind {
  MEMDISK,
  GRUB4DOS
}
