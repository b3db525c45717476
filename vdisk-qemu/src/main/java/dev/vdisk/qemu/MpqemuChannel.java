package dev.vdisk.qemu;

import static dev.vdisk.qemu.MpqemuLayout.HDR_CMD;
import static dev.vdisk.qemu.MpqemuLayout.HDR_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.HEADER_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.MAX_PAYLOAD;
import static dev.vdisk.qemu.MpqemuLayout.RET_MSG_SIZE;

import com.sun.jna.Memory;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.UnixMsgSocket;
import java.io.EOFException;
import java.io.IOException;

/**
 * Framing of QEMU's multi-process protocol on one socket: reads a 16-byte header with recvmsg and
 * room for 8 fds, then exactly {@code size} payload bytes; writes RETs. A payload larger than the
 * {@code data} union is read and discarded through a fixed buffer, so framing survives it and no
 * allocation depends on a peer-supplied size.
 */
final class MpqemuChannel implements AutoCloseable {
  private static final int DISCARD_CHUNK = 4096;

  private final UnixMsgSocket socket;
  private final Memory reply = new Memory(HEADER_SIZE + RET_MSG_SIZE);
  private final Memory discard = new Memory(DISCARD_CHUNK);
  private final int[] strayFds = new int[UnixMsgSocket.MAX_FDS];

  MpqemuChannel(int fd) {
    this.socket = new UnixMsgSocket(fd);
    reply.clear();
    reply.setInt(HDR_CMD, MpqemuCommand.RET);
    reply.setLong(HDR_SIZE, RET_MSG_SIZE);
  }

  int fd() {
    return socket.fd();
  }

  /**
   * Reads the next message into {@code msg}. Returns false at a clean end of stream (the peer
   * closed between messages); throws {@link EOFException} when it closed inside a message.
   */
  boolean receive(MpqemuMessage msg) throws IOException {
    msg.clear();
    int got = 0;
    while (got < HEADER_SIZE) {
      int n = socket.receive(msg.buffer, got, HEADER_SIZE - got, msg.fds, msg.fdCount);
      msg.fdCount += socket.lastFdCount();
      msg.strayFds |= socket.lastTruncated();
      if (n == 0) {
        msg.closeFds();
        if (got == 0) {
          return false;
        }
        throw new EOFException("peer closed the connection inside a message header");
      }
      got += n;
    }
    msg.cmd = msg.buffer.getInt(HDR_CMD);
    msg.size = msg.buffer.getLong(HDR_SIZE);
    msg.payloadLength =
        Long.compareUnsigned(msg.size, MAX_PAYLOAD) > 0 ? MAX_PAYLOAD : (int) msg.size;
    readPayload(msg, HEADER_SIZE, msg.payloadLength, true);
    long excess = msg.size - msg.payloadLength;
    while (excess != 0) {
      int chunk = Long.compareUnsigned(excess, DISCARD_CHUNK) > 0 ? DISCARD_CHUNK : (int) excess;
      readPayload(msg, 0, chunk, false);
      excess -= chunk;
    }
    return true;
  }

  private void readPayload(MpqemuMessage msg, long offset, int length, boolean keep)
      throws IOException {
    int got = 0;
    while (got < length) {
      int n =
          keep
              ? socket.receive(msg.buffer, offset + got, length - got, strayFds, 0)
              : socket.receive(discard, got, length - got, strayFds, 0);
      int stray = socket.lastFdCount();
      if (stray > 0 || socket.lastTruncated()) {
        // fds ride on the first byte of a sendmsg; any that arrive here were not sent with the
        // header, which QEMU never does.
        msg.strayFds = true;
        for (int i = 0; i < stray; i++) {
          Posix.closeQuietly(strayFds[i]);
        }
      }
      if (n == 0) {
        msg.closeFds();
        throw new EOFException(
            "peer closed the connection inside the payload of "
                + msg
                + " ("
                + got
                + " of "
                + length
                + " bytes)");
      }
      got += n;
    }
  }

  /** Sends a RET carrying {@code value} (8-byte payload). */
  void sendRet(long value) throws IOException {
    reply.setLong(HEADER_SIZE, value);
    socket.send(reply, HEADER_SIZE + RET_MSG_SIZE, null, 0);
  }

  @Override
  public void close() {
    socket.close();
  }
}
