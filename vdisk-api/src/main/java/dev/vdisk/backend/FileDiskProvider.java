package dev.vdisk.backend;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceProvider;
import dev.vdisk.api.OpenOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens raw images: {@code file:PATH} (relative or absolute), {@code file:///abs/path}. Honours
 * {@code readOnly} (opens the file read-only), {@code createSize} (creates a new sparse image,
 * never overwriting one) and {@code blockSize} (512 when 0).
 */
public final class FileDiskProvider implements BlockDeviceProvider {

  @Override
  public Set<String> schemes() {
    return Set.of("file");
  }

  @Override
  public BlockDevice open(URI uri, OpenOptions options) throws IOException {
    Path path = pathOf(uri);
    int blockSize = options.blockSize() == 0 ? 512 : options.blockSize();
    if (options.createSize() > 0) {
      FileDisk created = FileDisk.create(path, options.createSize(), blockSize);
      if (!options.readOnly()) {
        return created;
      }
      created.close();
    }
    return FileDisk.open(path, options.readOnly(), blockSize);
  }

  /** The path a {@code file:} URI names. */
  static Path pathOf(URI uri) {
    if (uri.isOpaque()) {
      String ssp = uri.getSchemeSpecificPart();
      if (ssp == null || ssp.isEmpty()) {
        throw new IllegalArgumentException("file URI '" + uri + "' names no path");
      }
      return Path.of(ssp);
    }
    String authority = uri.getAuthority();
    if (authority != null && !authority.isEmpty() && !authority.equals("localhost")) {
      throw new IllegalArgumentException(
          "file URI '" + uri + "' names host '" + authority + "' (expected a local path)");
    }
    if (uri.getPath() == null || uri.getPath().isEmpty()) {
      throw new IllegalArgumentException("file URI '" + uri + "' names no path");
    }
    return Path.of(uri.getPath());
  }
}
