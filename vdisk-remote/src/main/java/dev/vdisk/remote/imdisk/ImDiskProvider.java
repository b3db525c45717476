package dev.vdisk.remote.imdisk;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceProvider;
import dev.vdisk.api.OpenOptions;
import java.io.IOException;
import java.net.URI;
import java.util.Set;

/** Opens {@code imdisk://HOST[:PORT][/PATH]} and {@code imdisk+unix:///SOCKET}. */
public final class ImDiskProvider implements BlockDeviceProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("imdisk", "imdisk+unix");
  }

  @Override
  public BlockDevice open(URI uri, OpenOptions options) throws IOException {
    return ImDiskProxyClient.open(ImDiskTarget.parse(uri), options.timeout(), options.readOnly());
  }
}
