package dev.vdisk.remote.aoe;

import java.io.Closeable;

/**
 * Raw Ethernet frames in and out of one interface: the real one is an {@code AF_PACKET} socket
 * ({@link PacketFrameChannel}); tests use an in-process target. Frames include the 14-byte Ethernet
 * header. One thread receives; any thread may send.
 */
public interface FrameChannel extends Closeable {
  /** The interface's MAC address (6 bytes). */
  byte[] mac();

  /** The interface's MTU (the Ethernet payload size). */
  int mtu();

  /** Sends {@code length} bytes at native {@code address}; false when the send failed. */
  boolean send(long address, int length);

  /**
   * Receives one frame into {@code capacity} bytes at native {@code address}; returns its length,
   * or -1 when nothing arrived within a short wait (a few milliseconds).
   */
  int receive(long address, int capacity);

  @Override
  void close();
}
