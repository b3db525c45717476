package dev.vdisk.qemu;

import static dev.vdisk.qemu.MpqemuLayout.HEADER_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.MAX_PAYLOAD;

import com.sun.jna.Memory;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.UnixMsgSocket;

/**
 * One received message, reused for every message of a connection (a flyweight over one native
 * buffer: header then at most {@link MpqemuLayout#MAX_PAYLOAD} payload bytes). The fds it carries
 * belong to it until {@link #takeFd} hands one on or {@link #closeFds} closes the rest.
 */
final class MpqemuMessage {
  final Memory buffer = new Memory(HEADER_SIZE + MAX_PAYLOAD);
  final int[] fds = new int[UnixMsgSocket.MAX_FDS];
  int fdCount;

  /** fds arrived that did not fit, or rode on payload bytes rather than the header. */
  boolean strayFds;

  int cmd;

  /** The size field as sent (unsigned). */
  long size;

  /** Payload bytes kept in {@link #buffer}: min(size, MAX_PAYLOAD). */
  int payloadLength;

  void clear() {
    fdCount = 0;
    strayFds = false;
    cmd = -1;
    size = 0;
    payloadLength = 0;
  }

  int u8(int offset) {
    return buffer.getByte(HEADER_SIZE + offset) & 0xff;
  }

  long u32(int offset) {
    return buffer.getInt(HEADER_SIZE + offset) & 0xffff_ffffL;
  }

  int i32(int offset) {
    return buffer.getInt(HEADER_SIZE + offset);
  }

  long u64(int offset) {
    return buffer.getLong(HEADER_SIZE + offset);
  }

  /** Hands fd {@code index} to the caller, who must close it; the message forgets it. */
  int takeFd(int index) {
    int fd = fds[index];
    fds[index] = -1;
    return fd;
  }

  void closeFds() {
    for (int i = 0; i < fdCount; i++) {
      Posix.closeQuietly(fds[i]);
      fds[i] = -1;
    }
    fdCount = 0;
  }

  @Override
  public String toString() {
    return MpqemuCommand.name(cmd) + " size=" + Long.toUnsignedString(size) + " fds=" + fdCount;
  }
}
