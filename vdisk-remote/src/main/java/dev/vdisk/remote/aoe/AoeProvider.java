package dev.vdisk.remote.aoe;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceProvider;
import dev.vdisk.api.OpenOptions;
import java.io.IOException;
import java.net.URI;
import java.util.Set;

/** Opens {@code aoe://IFACE/SHELF.SLOT} through a raw socket on IFACE (needs CAP_NET_RAW). */
public final class AoeProvider implements BlockDeviceProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("aoe");
  }

  @Override
  public BlockDevice open(URI uri, OpenOptions options) throws IOException {
    AoeTarget t = AoeTarget.parse(uri);
    PacketFrameChannel ch = PacketFrameChannel.open(t.iface());
    try {
      return AoeDevice.open(ch, t.shelf(), t.slot(), options.timeout(), options.readOnly());
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }
}
