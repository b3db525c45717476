package dev.vdisk.backend;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceProvider;
import dev.vdisk.api.OpenOptions;
import dev.vdisk.api.Sizes;
import java.net.URI;
import java.util.Set;

/**
 * Opens a fresh sparse RAM disk: {@code ram:SIZE} ({@code ram:64M}, {@code ram:64G}); see {@link
 * Sizes#parse}. Honours {@code blockSize} (512 when 0).
 */
public final class RamDiskProvider implements BlockDeviceProvider {

  @Override
  public Set<String> schemes() {
    return Set.of("ram");
  }

  @Override
  public BlockDevice open(URI uri, OpenOptions options) {
    String size = uri.isOpaque() ? uri.getSchemeSpecificPart() : uri.getAuthority();
    if (size == null || size.isEmpty()) {
      throw new IllegalArgumentException(
          "RAM disk URI '" + uri + "' has no size (expected ram:SIZE, e.g. ram:64M)");
    }
    long bytes;
    try {
      bytes = Sizes.parse(size);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("RAM disk URI '" + uri + "': " + e.getMessage(), e);
    }
    return RamDisk.create(bytes, options.blockSize() == 0 ? 512 : options.blockSize());
  }
}
