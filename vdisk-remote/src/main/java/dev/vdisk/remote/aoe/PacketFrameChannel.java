package dev.vdisk.remote.aoe;

import dev.vdisk.remote.natives.PacketSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;

/** An {@code AF_PACKET} socket for EtherType 0x88A2 on one interface, found through sysfs. */
public final class PacketFrameChannel implements FrameChannel {
  /** Receive wait; bounds how late a retransmission timer can fire. */
  static final int RECEIVE_WAIT_MILLIS = 5;

  private final PacketSocket socket;
  private final byte[] mac;
  private final int mtu;

  private PacketFrameChannel(PacketSocket socket, byte[] mac, int mtu) {
    this.socket = socket;
    this.mac = mac;
    this.mtu = mtu;
  }

  public static PacketFrameChannel open(String iface) throws IOException {
    if (!iface.matches("[A-Za-z0-9_.:@-]{1,15}")) {
      throw new IllegalArgumentException(
          "interface name '" + iface + "' (expected 1-15 characters of [A-Za-z0-9_.:@-])");
    }
    Path sys = Path.of("/sys/class/net", iface);
    try {
      int ifindex = Integer.parseInt(Files.readString(sys.resolve("ifindex")).trim());
      int mtu = Integer.parseInt(Files.readString(sys.resolve("mtu")).trim());
      byte[] mac =
          HexFormat.ofDelimiter(":").parseHex(Files.readString(sys.resolve("address")).trim());
      if (mac.length != 6) {
        throw new IOException("interface " + iface + " has no Ethernet address");
      }
      return new PacketFrameChannel(
          PacketSocket.open(ifindex, AoeFrames.ETHERTYPE, RECEIVE_WAIT_MILLIS), mac, mtu);
    } catch (NoSuchFileException e) {
      throw new IOException("no network interface named '" + iface + "'", e);
    }
  }

  @Override
  public byte[] mac() {
    return mac.clone();
  }

  @Override
  public int mtu() {
    return mtu;
  }

  @Override
  public boolean send(long address, int length) {
    return socket.send(address, length);
  }

  @Override
  public int receive(long address, int capacity) {
    return socket.receive(address, capacity);
  }

  @Override
  public void close() {
    socket.close();
  }
}
