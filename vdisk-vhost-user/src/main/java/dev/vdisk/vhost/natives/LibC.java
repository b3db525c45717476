package dev.vdisk.vhost.natives;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * Raw libc entry points, direct-mapped (JNA's fastest binding: no reflection, no proxy per call).
 * Every function returns the raw result; callers check for -1 and read {@link Native#getLastError}
 * (JNA preserves errno per thread after every call). Only this package calls these; the public
 * classes beside it turn failures into {@link NativeException}s naming the call and the errno.
 *
 * <p>Linux on a 64-bit (LP64) ABI only: {@code size_t}/{@code ssize_t}/{@code off_t} are mapped to
 * {@code long}, and the structure layouts in this package (msghdr, cmsghdr, pollfd, sockaddr_un)
 * are those of x86-64 and aarch64 Linux.
 */
final class LibC {
  static final int AF_UNIX = 1;
  static final int SOCK_STREAM = 1;
  static final int SOCK_CLOEXEC = 0x80000;
  static final int SOL_SOCKET = 1;
  static final int SCM_RIGHTS = 1;
  static final int MSG_CTRUNC = 0x8;
  static final int MSG_NOSIGNAL = 0x4000;
  static final int MSG_CMSG_CLOEXEC = 0x40000000;
  static final int SHUT_RDWR = 2;
  static final int SO_PEERCRED = 17;

  static final int PROT_READ = 0x1;
  static final int PROT_WRITE = 0x2;
  static final int MAP_SHARED = 0x01;
  static final int MAP_NORESERVE = 0x4000;
  static final long MAP_FAILED = -1L;

  static final int EFD_CLOEXEC = 0x80000;
  static final int EFD_NONBLOCK = 0x800;

  static final int MFD_CLOEXEC = 0x1;

  static final int F_GETFD = 1;

  /** struct stat is 144 bytes on x86-64 and 128 on aarch64; st_mode/st_size offsets differ. */
  static final int STAT_BUFFER_SIZE = 256;

  static final int S_IFMT = 0xf000;
  static final int S_IFREG = 0x8000;

  static {
    if (!Platform.isLinux() || Native.LONG_SIZE != 8 || Native.POINTER_SIZE != 8) {
      throw new UnsupportedOperationException(
          "vdisk natives need 64-bit Linux (os "
              + System.getProperty("os.name")
              + ", arch "
              + System.getProperty("os.arch")
              + ")");
    }
    Native.register(NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
  }

  private LibC() {}

  static native int socket(int domain, int type, int protocol);

  static native int socketpair(int domain, int type, int protocol, int[] sv);

  static native int bind(int fd, byte[] addr, int addrLen);

  static native int listen(int fd, int backlog);

  static native int accept4(int fd, Pointer addr, Pointer addrLen, int flags);

  static native int connect(int fd, byte[] addr, int addrLen);

  static native int shutdown(int fd, int how);

  static native int getsockopt(int fd, int level, int name, Pointer value, Pointer length);

  static native long sendmsg(int fd, Pointer msg, int flags);

  static native long recvmsg(int fd, Pointer msg, int flags);

  static native long mmap(long addr, long length, int prot, int flags, int fd, long offset);

  static native int munmap(long addr, long length);

  static native int eventfd(int initval, int flags);

  static native long read(int fd, Pointer buf, long count);

  static native long write(int fd, Pointer buf, long count);

  static native int poll(Pointer fds, long nfds, int timeout);

  static native int close(int fd);

  static native int fcntl(int fd, int cmd, int arg);

  static native int memfd_create(String name, int flags);

  static native int ftruncate(int fd, long length);

  static native int fstat(int fd, Pointer statbuf);

  static native long getpagesize();

  static native String strerror(int errnum);

  /** errno of the last native call on this thread. */
  static int errno() {
    return Native.getLastError();
  }
}
