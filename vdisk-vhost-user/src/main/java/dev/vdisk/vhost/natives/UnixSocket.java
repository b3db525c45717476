package dev.vdisk.vhost.natives;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * An AF_UNIX stream socket with descriptor passing (SCM_RIGHTS), which {@code java.nio} cannot do.
 * Blocking; callers that must stay interruptible wait with a {@link PollSet} first.
 *
 * <p>Sends and receives may run on different threads at once; two concurrent sends (or receives) on
 * one socket interleave bytes, as with any stream socket.
 */
public final class UnixSocket implements Closeable {
  /** sun_path is 108 bytes including the terminating NUL. */
  public static final int MAX_PATH_BYTES = 107;

  /** Linux's SCM_MAX_FD: the most descriptors one message can carry. */
  public static final int MAX_FDS_PER_MESSAGE = 253;

  // struct msghdr (LP64)
  private static final int MSG_NAME = 0;
  private static final int MSG_NAMELEN = 8;
  private static final int MSG_IOV = 16;
  private static final int MSG_IOVLEN = 24;
  private static final int MSG_CONTROL = 32;
  private static final int MSG_CONTROLLEN = 40;
  private static final int MSG_FLAGS = 48;
  private static final int MSGHDR_SIZE = 56;
  // struct iovec
  private static final int IOV_BASE = 0;
  private static final int IOV_LEN = 8;
  private static final int IOVEC_SIZE = 16;
  // struct cmsghdr
  private static final int CMSG_LEN = 0;
  private static final int CMSG_LEVEL = 8;
  private static final int CMSG_TYPE = 12;
  private static final int CMSG_HDR_SIZE = 16;

  private final OwnedFd fd;
  private final String name;

  private UnixSocket(int fd, String name) {
    this.fd = OwnedFd.adopt(fd);
    this.name = name;
  }

  /** What one {@link #receive} call got. */
  public record Received(int bytes, int[] fds, boolean controlTruncated) {
    /** True when the peer closed its end (and nothing was read). */
    public boolean endOfStream() {
      return bytes == 0;
    }
  }

  /**
   * Binds a listening socket at {@code path}. Fails with EADDRINUSE when anything exists at the
   * path, live socket or stale file alike; the caller decides whether a stale one may be removed.
   */
  public static UnixSocket listen(Path path, int backlog) throws NativeException {
    byte[] addr = sockaddr(path);
    int s = newSocket();
    try {
      if (LibC.bind(s, addr, addr.length) != 0) {
        throw NativeException.last("bind(" + path + ")");
      }
      if (LibC.listen(s, backlog) != 0) {
        throw NativeException.last("listen(" + path + ")");
      }
    } catch (NativeException e) {
      Fds.closeQuietly(s);
      throw e;
    }
    return new UnixSocket(s, path.toString());
  }

  /** Connects to the socket at {@code path}. */
  public static UnixSocket connect(Path path) throws NativeException {
    byte[] addr = sockaddr(path);
    int s = newSocket();
    if (LibC.connect(s, addr, addr.length) != 0) {
      NativeException e = NativeException.last("connect(" + path + ")");
      Fds.closeQuietly(s);
      throw e;
    }
    return new UnixSocket(s, path.toString());
  }

  /** A connected pair ({@code socketpair}). */
  public static UnixSocket[] pair() throws NativeException {
    int[] sv = new int[2];
    if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, sv) != 0) {
      throw NativeException.last("socketpair");
    }
    return new UnixSocket[] {
      new UnixSocket(sv[0], "socketpair[0]"), new UnixSocket(sv[1], "socketpair[1]")
    };
  }

  /** Takes ownership of a connected socket descriptor (e.g. one received from a peer). */
  public static UnixSocket adopt(int fd, String name) {
    return new UnixSocket(fd, name);
  }

  /** Waits for the next connection on a listening socket. */
  public UnixSocket accept() throws NativeException {
    while (true) {
      int c = LibC.accept4(fd.fd(), Pointer.NULL, Pointer.NULL, LibC.SOCK_CLOEXEC);
      if (c >= 0) {
        return new UnixSocket(c, name + " connection");
      }
      int errno = LibC.errno();
      if (errno != Errno.EINTR) {
        throw new NativeException("accept(" + name + ")", errno);
      }
    }
  }

  public int fd() {
    return fd.fd();
  }

  /**
   * Sends all {@code length} bytes at {@code data}; {@code fds} travel with the first byte. Throws
   * with EPIPE/ECONNRESET when the peer has gone.
   */
  public void send(Pointer data, int length, int... fds) throws NativeException {
    if (length <= 0) {
      throw new IllegalArgumentException("send length " + length + " (expected > 0)");
    }
    if (fds.length > MAX_FDS_PER_MESSAGE) {
      throw new IllegalArgumentException(
          fds.length + " fds in one message (expected <= " + MAX_FDS_PER_MESSAGE + ")");
    }
    int control = fds.length == 0 ? 0 : cmsgSpace(4 * fds.length);
    Memory m = new Memory(MSGHDR_SIZE + IOVEC_SIZE + Math.max(control, 8));
    m.clear();
    long iov = MSGHDR_SIZE;
    long ctl = MSGHDR_SIZE + IOVEC_SIZE;
    m.setPointer(MSG_IOV, m.share(iov));
    m.setLong(MSG_IOVLEN, 1);
    if (control > 0) {
      m.setLong(ctl + CMSG_LEN, CMSG_HDR_SIZE + 4L * fds.length);
      m.setInt(ctl + CMSG_LEVEL, LibC.SOL_SOCKET);
      m.setInt(ctl + CMSG_TYPE, LibC.SCM_RIGHTS);
      for (int i = 0; i < fds.length; i++) {
        m.setInt(ctl + CMSG_HDR_SIZE + 4L * i, fds[i]);
      }
      m.setPointer(MSG_CONTROL, m.share(ctl));
      m.setLong(MSG_CONTROLLEN, control);
    }
    int sent = 0;
    while (sent < length) {
      m.setPointer(iov + IOV_BASE, data.share(sent));
      m.setLong(iov + IOV_LEN, length - sent);
      long n = LibC.sendmsg(fd.fd(), m, LibC.MSG_NOSIGNAL);
      if (n < 0) {
        int errno = LibC.errno();
        if (errno == Errno.EINTR) {
          continue;
        }
        throw new NativeException("sendmsg(" + name + ")", errno);
      }
      sent += (int) n;
      // The descriptors went with the first chunk.
      m.setPointer(MSG_CONTROL, Pointer.NULL);
      m.setLong(MSG_CONTROLLEN, 0);
    }
  }

  /**
   * One {@code recvmsg}: up to {@code length} bytes into {@code buffer} at {@code offset}, and up
   * to {@code maxFds} received descriptors (close-on-exec). Descriptors beyond {@code maxFds} are
   * never installed (the kernel drops them and reports MSG_CTRUNC, seen here as {@code
   * controlTruncated}); descriptors in unexpected control messages are closed here. The caller owns
   * every descriptor returned. Blocks until data or end of stream.
   */
  public Received receive(Pointer buffer, long offset, int length, int maxFds)
      throws NativeException {
    if (length <= 0) {
      throw new IllegalArgumentException("receive length " + length + " (expected > 0)");
    }
    if (maxFds < 0 || maxFds > MAX_FDS_PER_MESSAGE) {
      throw new IllegalArgumentException(
          "maxFds " + maxFds + " (expected 0.." + MAX_FDS_PER_MESSAGE + ")");
    }
    // Room for one descriptor more than allowed, so "too many" is seen rather than truncated away.
    int control = cmsgSpace(4 * (maxFds + 1));
    Memory m = new Memory(MSGHDR_SIZE + IOVEC_SIZE + control);
    m.clear();
    long iov = MSGHDR_SIZE;
    long ctl = MSGHDR_SIZE + IOVEC_SIZE;
    m.setPointer(iov + IOV_BASE, buffer.share(offset));
    m.setLong(iov + IOV_LEN, length);
    m.setPointer(MSG_IOV, m.share(iov));
    m.setLong(MSG_IOVLEN, 1);
    m.setPointer(MSG_CONTROL, m.share(ctl));
    m.setLong(MSG_CONTROLLEN, control);
    long n;
    while (true) {
      n = LibC.recvmsg(fd.fd(), m, LibC.MSG_CMSG_CLOEXEC);
      if (n >= 0) {
        break;
      }
      int errno = LibC.errno();
      if (errno != Errno.EINTR) {
        throw new NativeException("recvmsg(" + name + ")", errno);
      }
    }
    boolean truncated = (m.getInt(MSG_FLAGS) & LibC.MSG_CTRUNC) != 0;
    int[] fds = collectFds(m, ctl, m.getLong(MSG_CONTROLLEN));
    if (fds.length > maxFds) {
      for (int i = maxFds; i < fds.length; i++) {
        Fds.closeQuietly(fds[i]);
      }
      fds = Arrays.copyOf(fds, maxFds);
      truncated = true;
    }
    return new Received((int) n, fds, truncated);
  }

  /** Walks the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR) and gathers SCM_RIGHTS fds. */
  private static int[] collectFds(Memory m, long ctl, long controlLength) {
    int[] fds = new int[0];
    long at = ctl;
    long end = ctl + controlLength;
    while (at + CMSG_HDR_SIZE <= end) {
      long len = m.getLong(at + CMSG_LEN);
      if (len < CMSG_HDR_SIZE || at + len > end) {
        break;
      }
      int count = (int) ((len - CMSG_HDR_SIZE) / 4);
      boolean rights =
          m.getInt(at + CMSG_LEVEL) == LibC.SOL_SOCKET
              && m.getInt(at + CMSG_TYPE) == LibC.SCM_RIGHTS;
      if (rights) {
        int base = fds.length;
        fds = Arrays.copyOf(fds, base + count);
        for (int i = 0; i < count; i++) {
          fds[base + i] = m.getInt(at + CMSG_HDR_SIZE + 4L * i);
        }
      }
      at += align8(len);
    }
    return fds;
  }

  /** The peer process of a connected socket, as the kernel recorded it at connect time. */
  public record PeerCredentials(int pid, int uid, int gid) {}

  /** {@code getsockopt(SO_PEERCRED)}: who is on the other end. */
  public PeerCredentials peerCredentials() throws NativeException {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
    Memory m = new Memory(16);
    m.clear();
    Memory len = new Memory(4);
    len.setInt(0, 12);
    if (LibC.getsockopt(fd.fd(), LibC.SOL_SOCKET, LibC.SO_PEERCRED, m, len) != 0) {
      throw NativeException.last("getsockopt(" + name + ", SO_PEERCRED)");
    }
    return new PeerCredentials(m.getInt(0), m.getInt(4), m.getInt(8));
  }

  /** Shuts both directions down: a thread blocked in {@link #receive} sees end of stream. */
  public void shutdown() {
    int f = fd.fd();
    if (f >= 0) {
      LibC.shutdown(f, LibC.SHUT_RDWR);
    }
  }

  @Override
  public void close() {
    fd.close();
  }

  @Override
  public String toString() {
    return "unix socket " + name + " (" + fd + ")";
  }

  private static int newSocket() throws NativeException {
    int s = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
    if (s < 0) {
      throw NativeException.last("socket(AF_UNIX)");
    }
    return s;
  }

  /** struct sockaddr_un: sa_family_t (LE u16) then the NUL-terminated path. */
  private static byte[] sockaddr(Path path) {
    byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
    if (p.length == 0 || p.length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException(
          "socket path "
              + path
              + " is "
              + p.length
              + " bytes (expected 1.."
              + MAX_PATH_BYTES
              + ": the kernel's sun_path limit)");
    }
    byte[] addr = new byte[2 + p.length + 1];
    addr[0] = (byte) LibC.AF_UNIX;
    System.arraycopy(p, 0, addr, 2, p.length);
    return addr;
  }

  private static long align8(long n) {
    return (n + 7) & ~7L;
  }

  private static int cmsgSpace(int dataBytes) {
    return CMSG_HDR_SIZE + (int) align8(dataBytes);
  }
}
