package dev.vdisk.remote.nbd;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceProvider;
import dev.vdisk.api.OpenOptions;
import java.io.IOException;
import java.net.URI;
import java.util.Set;

/** Opens {@code nbd://HOST[:PORT][/EXPORT]} and {@code nbd+unix:///[EXPORT]?socket=PATH}. */
public final class NbdProvider implements BlockDeviceProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("nbd", "nbd+unix");
  }

  @Override
  public BlockDevice open(URI uri, OpenOptions options) throws IOException {
    return NbdClient.open(NbdTarget.parse(uri), options.timeout(), options.readOnly());
  }
}
