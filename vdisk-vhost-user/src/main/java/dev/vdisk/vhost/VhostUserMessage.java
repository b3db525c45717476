package dev.vdisk.vhost;

import dev.vdisk.vhost.VhostUserLayouts.Header;
import dev.vdisk.vhost.natives.Fds;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One received message: a flyweight over the connection's receive buffer (header then payload) plus
 * the descriptors that came with it. Reused for every message of a connection; the descriptors
 * belong to the message until a handler takes them ({@link #takeFds}), and {@link #closeFds} closes
 * whatever was not taken.
 */
final class VhostUserMessage {
  private final ByteBuffer buffer;
  private int[] fds = new int[0];

  VhostUserMessage(ByteBuffer buffer) {
    this.buffer = buffer.order(ByteOrder.LITTLE_ENDIAN);
  }

  ByteBuffer buffer() {
    return buffer;
  }

  int request() {
    return buffer.getInt(Header.REQUEST);
  }

  int flags() {
    return buffer.getInt(Header.FLAGS);
  }

  /** Payload size as the header states it (validated against the limit by the channel). */
  int size() {
    return buffer.getInt(Header.SIZE_FIELD);
  }

  boolean needsReply() {
    return (flags() & Header.FLAG_NEED_REPLY) != 0;
  }

  String name() {
    return VhostUserRequest.describe(request());
  }

  void attachFds(int[] received) {
    closeFds();
    this.fds = received;
  }

  int fdCount() {
    int n = 0;
    for (int fd : fds) {
      if (fd >= 0) {
        n++;
      }
    }
    return n;
  }

  /** Hands all descriptors to the caller (who then owns them). */
  int[] takeFds() {
    int[] taken = fds;
    fds = new int[0];
    return taken;
  }

  /** Closes the descriptors no handler took. */
  void closeFds() {
    Fds.closeAll(fds);
    fds = new int[0];
  }

  int u32(int payloadOffset) {
    return buffer.getInt(Header.SIZE + payloadOffset);
  }

  long u64(int payloadOffset) {
    return buffer.getLong(Header.SIZE + payloadOffset);
  }

  int u8(int payloadOffset) {
    return buffer.get(Header.SIZE + payloadOffset) & 0xff;
  }
}
