package dev.vdisk.virtio.driver;

/**
 * One BAR as the driver model found and placed it.
 *
 * @param index BAR index (the low dword for a 64-bit BAR)
 * @param base address assigned
 * @param size size decoded from the sizing mask
 * @param is64 64-bit memory BAR (occupies index and index + 1)
 * @param prefetchable prefetchable bit
 * @param io I/O-space BAR
 */
public record PciBar(
    int index, long base, long size, boolean is64, boolean prefetchable, boolean io) {}
