package dev.vdisk.remote.natives;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.Closeable;
import java.io.IOException;

/**
 * A raw {@code AF_PACKET} socket bound to one interface and one EtherType (JNA direct mapping to
 * libc). Frames include the Ethernet header. Pointers are passed as {@code long} addresses, which
 * direct mapping hands to C unchanged on the 64-bit ABIs vdisk runs on, so sending and receiving a
 * frame allocates nothing.
 *
 * <p>Receives wait at most the timeout given at open ({@code SO_RCVTIMEO}), so a reader thread can
 * run timers between frames. {@link #close()} must only be called once no thread is inside {@link
 * #receive} any more (the descriptor number could otherwise be reused under it).
 */
public final class PacketSocket implements Closeable {
  private static final int AF_PACKET = 17;
  private static final int SOCK_RAW = 3;
  private static final int SOL_SOCKET = 1;
  private static final int SO_RCVTIMEO = 20;
  private static final int SOCKADDR_LL_SIZE = 20;

  static {
    Native.register(PacketSocket.class, "c");
  }

  private static native int socket(int domain, int type, int protocol) throws LastErrorException;

  private static native int bind(int fd, long addr, int len) throws LastErrorException;

  private static native int setsockopt(int fd, int level, int name, long val, int len)
      throws LastErrorException;

  private static native long send(int fd, long buf, long len, int flags);

  private static native long recv(int fd, long buf, long len, int flags);

  private static native int close(int fd);

  private final int fd;
  private volatile boolean closed;

  private PacketSocket(int fd) {
    this.fd = fd;
  }

  /**
   * Opens a socket for {@code etherType} frames on interface {@code ifindex}. Needs CAP_NET_RAW;
   * the exception then names the errno (EPERM 1).
   */
  public static PacketSocket open(int ifindex, int etherType, int receiveTimeoutMillis)
      throws IOException {
    int protoBe = Short.toUnsignedInt(Short.reverseBytes((short) etherType));
    int fd;
    try {
      fd = socket(AF_PACKET, SOCK_RAW, protoBe);
    } catch (LastErrorException e) {
      throw new IOException(
          "socket(AF_PACKET, SOCK_RAW) failed with errno "
              + e.getErrorCode()
              + (e.getErrorCode() == 1 ? " (EPERM: needs root or CAP_NET_RAW)" : ""),
          e);
    }
    try (Memory sll = new Memory(SOCKADDR_LL_SIZE);
        Memory tv = new Memory(16)) {
      sll.clear();
      sll.setShort(0, (short) AF_PACKET);
      sll.setShort(2, (short) protoBe);
      sll.setInt(4, ifindex);
      bind(fd, Pointer.nativeValue(sll), SOCKADDR_LL_SIZE);
      tv.setLong(0, receiveTimeoutMillis / 1000);
      tv.setLong(8, (receiveTimeoutMillis % 1000) * 1000L);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, Pointer.nativeValue(tv), 16);
    } catch (LastErrorException e) {
      close(fd);
      throw new IOException(
          "binding the AF_PACKET socket to interface index "
              + ifindex
              + " failed with errno "
              + e.getErrorCode(),
          e);
    }
    return new PacketSocket(fd);
  }

  /** Sends one frame of {@code length} bytes at native {@code address}; false when it failed. */
  public boolean send(long address, int length) {
    return !closed && send(fd, address, length, 0) == length;
  }

  /** Receives one frame into {@code capacity} bytes at {@code address}; -1 after the timeout. */
  public int receive(long address, int capacity) {
    if (closed) {
      return -1;
    }
    return (int) recv(fd, address, capacity, 0);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      close(fd);
    }
  }
}
