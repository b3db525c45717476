package dev.vdisk.virtio.pci;

/**
 * One structure inside the virtio BAR: {@code length} bytes from {@code offset}.
 *
 * @param offset byte offset from the start of the BAR
 * @param length length in bytes (the value the virtio capability advertises)
 */
public record BarRegion(int offset, int length) {

  /** True when [{@code barOffset}, +{@code size}) lies wholly inside this region. */
  public boolean contains(long barOffset, int size) {
    return barOffset >= offset && barOffset - offset <= length - (long) size;
  }

  /** True when {@code barOffset} is inside this region. */
  public boolean containsStart(long barOffset) {
    return barOffset >= offset && barOffset < (long) offset + length;
  }

  /** First byte after the region. */
  public int end() {
    return offset + length;
  }
}
