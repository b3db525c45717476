package dev.vdisk.qemu.natives;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;

/**
 * sendmsg/recvmsg with SCM_RIGHTS on one connected AF_UNIX stream socket. The {@code msghdr},
 * {@code iovec} and control buffers are allocated once, so a message round trip allocates nothing.
 * Not thread-safe: one receiving thread and one sending thread at most (they use separate buffers).
 *
 * <pre>
 * msghdr (LP64, 56 bytes)           iovec (16)         cmsghdr (16 + data)
 *   0 void*  msg_name                 0 void* base       0 size_t cmsg_len
 *   8 u32    msg_namelen              8 size_t len       8 int    cmsg_level (SOL_SOCKET = 1)
 *  16 iovec* msg_iov                                    12 int    cmsg_type  (SCM_RIGHTS = 1)
 *  24 size_t msg_iovlen                                 16 int[]  fds
 *  32 void*  msg_control
 *  40 size_t msg_controllen
 *  48 int    msg_flags
 * </pre>
 */
public final class UnixMsgSocket {
  /** Most fds one message may carry here (QEMU's REMOTE_MAX_FDS). */
  public static final int MAX_FDS = 8;

  private static final int MSGHDR_SIZE = 56;
  private static final int MSG_IOV = 16;
  private static final int MSG_IOVLEN = 24;
  private static final int MSG_CONTROL = 32;
  private static final int MSG_CONTROLLEN = 40;
  private static final int MSG_FLAGS = 48;
  private static final int IOVEC_SIZE = 16;
  private static final int CMSG_HDR = 16;
  private static final int CMSG_LEN = 0;
  private static final int CMSG_LEVEL = 8;
  private static final int CMSG_TYPE = 12;
  private static final int SOL_SOCKET = 1;
  private static final int SCM_RIGHTS = 1;
  private static final int CONTROL_SIZE = CMSG_HDR + MAX_FDS * 4;
  private static final int MSG_CTRUNC = 0x8;
  private static final int MSG_NOSIGNAL = 0x4000;
  private static final int MSG_CMSG_CLOEXEC = 0x40000000;

  private final int fd;
  private final Memory recvHdr = new Memory(MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE);
  private final Memory sendHdr = new Memory(MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE);
  private int lastFdCount;
  private boolean lastTruncated;

  public UnixMsgSocket(int fd) {
    this.fd = fd;
  }

  public int fd() {
    return fd;
  }

  /** Number of fds the last {@link #receive} stored. */
  public int lastFdCount() {
    return lastFdCount;
  }

  /** True when the last {@link #receive} lost fds because the peer sent more than fit. */
  public boolean lastTruncated() {
    return lastTruncated;
  }

  /**
   * One recvmsg of at most {@code length} bytes into {@code buf + offset}. Received fds
   * (close-on-exec) are stored into {@code fds} from {@code fdsStart} on, at most {@code fds.length
   * - fdsStart} of them; extra fds beyond {@link #MAX_FDS} are closed by the kernel. Returns the
   * bytes read, 0 at end of stream.
   */
  public int receive(Pointer buf, long offset, int length, int[] fds, int fdsStart)
      throws IOException {
    Memory m = recvHdr;
    long iov = Pointer.nativeValue(m) + MSGHDR_SIZE;
    long control = iov + IOVEC_SIZE;
    m.clear(MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE);
    m.setLong(MSGHDR_SIZE, Pointer.nativeValue(buf) + offset);
    m.setLong(MSGHDR_SIZE + 8, length);
    m.setLong(MSG_IOV, iov);
    m.setLong(MSG_IOVLEN, 1);
    m.setLong(MSG_CONTROL, control);
    m.setLong(MSG_CONTROLLEN, CONTROL_SIZE);
    long n;
    while (true) {
      try {
        n = LibC.INSTANCE.recvmsg(fd, m, MSG_CMSG_CLOEXEC);
        break;
      } catch (LastErrorException e) {
        if (e.getErrorCode() != Posix.EINTR) {
          throw Posix.error("recvmsg(fd " + fd + ")", e);
        }
      }
    }
    lastFdCount = 0;
    lastTruncated = (m.getInt(MSG_FLAGS) & MSG_CTRUNC) != 0;
    long controlLen = m.getLong(MSG_CONTROLLEN);
    long cmsg = MSGHDR_SIZE + IOVEC_SIZE;
    // One SCM_RIGHTS block at most: the control buffer has room for exactly one.
    if (controlLen >= CMSG_HDR
        && m.getInt(cmsg + CMSG_LEVEL) == SOL_SOCKET
        && m.getInt(cmsg + CMSG_TYPE) == SCM_RIGHTS) {
      long cmsgLen = Math.min(m.getLong(cmsg + CMSG_LEN), controlLen);
      int count = (int) Math.max(0, (cmsgLen - CMSG_HDR) / 4);
      for (int i = 0; i < count; i++) {
        int received = m.getInt(cmsg + CMSG_HDR + 4L * i);
        if (fdsStart + lastFdCount < fds.length) {
          fds[fdsStart + lastFdCount++] = received;
        } else {
          // No room in the caller's array: never leak it.
          Posix.closeQuietly(received);
          lastTruncated = true;
        }
      }
    }
    return (int) n;
  }

  /**
   * Sends {@code length} bytes from {@code buf}, with {@code fdCount} fds from {@code fds} as one
   * SCM_RIGHTS block on the first sendmsg (the peer receives them with the first byte).
   */
  public void send(Pointer buf, int length, int[] fds, int fdCount) throws IOException {
    if (fdCount < 0 || fdCount > MAX_FDS) {
      throw new IllegalArgumentException("fd count " + fdCount + " (expected 0.." + MAX_FDS + ")");
    }
    Memory m = sendHdr;
    long iov = Pointer.nativeValue(m) + MSGHDR_SIZE;
    long control = iov + IOVEC_SIZE;
    long sent = 0;
    boolean first = true;
    while (sent < length || (first && length == 0)) {
      m.clear(MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE);
      m.setLong(MSGHDR_SIZE, Pointer.nativeValue(buf) + sent);
      m.setLong(MSGHDR_SIZE + 8, length - sent);
      m.setLong(MSG_IOV, iov);
      m.setLong(MSG_IOVLEN, 1);
      if (first && fdCount > 0) {
        long cmsg = MSGHDR_SIZE + IOVEC_SIZE;
        m.setLong(cmsg + CMSG_LEN, CMSG_HDR + 4L * fdCount);
        m.setInt(cmsg + CMSG_LEVEL, SOL_SOCKET);
        m.setInt(cmsg + CMSG_TYPE, SCM_RIGHTS);
        for (int i = 0; i < fdCount; i++) {
          m.setInt(cmsg + CMSG_HDR + 4L * i, fds[i]);
        }
        m.setLong(MSG_CONTROL, control);
        // CMSG_SPACE: the data rounded up to 8 bytes.
        m.setLong(MSG_CONTROLLEN, CMSG_HDR + ((4L * fdCount + 7) & ~7L));
      }
      long n;
      try {
        n = LibC.INSTANCE.sendmsg(fd, m, MSG_NOSIGNAL);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == Posix.EINTR) {
          continue;
        }
        throw Posix.error("sendmsg(fd " + fd + ")", e);
      }
      first = false;
      sent += n;
      if (length == 0) {
        break;
      }
    }
  }

  public void close() {
    Posix.closeQuietly(fd);
  }
}
