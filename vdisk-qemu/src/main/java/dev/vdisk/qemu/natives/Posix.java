package dev.vdisk.qemu.natives;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Thin, checked wrappers over the libc calls the QEMU proxy needs. Every failure becomes an {@link
 * IOException} naming the call, the errno and the value that was refused. Linux x86-64/aarch64 only
 * (the layouts of {@code struct stat}, {@code msghdr} and {@code cmsghdr} below are the LP64 ones).
 */
public final class Posix {
  public static final int AF_UNIX = 1;
  public static final int SOCK_STREAM = 1;
  public static final int SOCK_CLOEXEC = 0x80000;
  public static final int SHUT_RDWR = 2;
  public static final int EFD_CLOEXEC = 0x80000;
  public static final int EFD_NONBLOCK = 0x800;
  public static final int MFD_CLOEXEC = 1;
  public static final int PROT_READ = 1;
  public static final int PROT_WRITE = 2;
  public static final int MAP_SHARED = 1;
  public static final int MAP_PRIVATE = 2;
  public static final int MAP_FIXED = 0x10;
  public static final int MAP_ANONYMOUS = 0x20;
  public static final int MAP_NORESERVE = 0x4000;
  public static final short POLLIN = 0x1;
  public static final short POLLERR = 0x8;
  public static final short POLLHUP = 0x10;
  public static final short POLLNVAL = 0x20;
  public static final int EINTR = 4;
  public static final int EAGAIN = 11;
  public static final int S_IFMT = 0xf000;
  public static final int S_IFREG = 0x8000;

  /** {@code struct stat} (LP64 generic and x86-64 agree on these offsets). */
  private static final int STAT_SIZE = 256;

  private static final int STAT_DEV = 0;
  private static final int STAT_INO = 8;
  private static final int STAT_MODE_X86_64 = 24;
  private static final int STAT_MODE_GENERIC = 16;
  private static final int STAT_SIZE_OFFSET = 48;
  private static final boolean X86_64 =
      "amd64".equals(System.getProperty("os.arch"))
          || "x86_64".equals(System.getProperty("os.arch"));

  /** sockaddr_un: sa_family (u16) + 108 bytes of path. */
  private static final int SOCKADDR_UN_SIZE = 110;

  private static final int SUN_PATH_MAX = 107;

  private static final ThreadLocal<Memory> EIGHT_BYTES =
      ThreadLocal.withInitial(() -> new Memory(8));

  private static final int SC_PAGESIZE = 30;
  private static final long PAGE_SIZE;

  static {
    long page = LibC.INSTANCE.sysconf(SC_PAGESIZE);
    PAGE_SIZE = page > 0 ? page : 4096;
    if (Native.POINTER_SIZE != 8 || Native.LONG_SIZE != 8) {
      throw new ExceptionInInitializerError("dev.vdisk.qemu.natives needs a 64-bit Linux JVM");
    }
  }

  private Posix() {}

  /** Identity and size of an open file, from {@code fstat}. */
  public record FileStat(long dev, long ino, int mode, long size) {
    public boolean isRegularFile() {
      return (mode & S_IFMT) == S_IFREG;
    }
  }

  static IOException error(String call, LastErrorException e) {
    int errno = e.getErrorCode();
    return new IOException(
        call + " failed: " + LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")");
  }

  /** Closes {@code fd}, ignoring errors (and ignoring negative fds). */
  public static void closeQuietly(int fd) {
    if (fd < 0) {
      return;
    }
    try {
      LibC.INSTANCE.close(fd);
    } catch (LastErrorException e) {
      // Nothing useful to do: on Linux the fd is released even when close reports an error.
    }
  }

  /** A connected pair of AF_UNIX stream sockets, both close-on-exec. */
  public static int[] socketPair() throws IOException {
    int[] sv = new int[2];
    try {
      LibC.INSTANCE.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    } catch (LastErrorException e) {
      throw error("socketpair(AF_UNIX, SOCK_STREAM)", e);
    }
    return sv;
  }

  /** Connects a new AF_UNIX stream socket to {@code path}; returns its fd. */
  public static int connectUnix(String path) throws IOException {
    byte[] bytes = unixPath(path);
    int fd = unixSocket();
    try (Memory addr = sockaddrUn(bytes)) {
      LibC.INSTANCE.connect(fd, addr, 2 + bytes.length + 1);
      return fd;
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw error("connect(" + path + ")", e);
    }
  }

  /** A listening AF_UNIX stream socket bound to {@code path} (which must not exist). */
  public static int listenUnix(String path) throws IOException {
    byte[] bytes = unixPath(path);
    int fd = unixSocket();
    try (Memory addr = sockaddrUn(bytes)) {
      LibC.INSTANCE.bind(fd, addr, 2 + bytes.length + 1);
      LibC.INSTANCE.listen(fd, 4);
      return fd;
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw error("bind/listen(" + path + ")", e);
    }
  }

  private static byte[] unixPath(String path) throws IOException {
    byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
    if (bytes.length == 0 || bytes.length > SUN_PATH_MAX) {
      throw new IOException(
          "socket path '"
              + path
              + "' is "
              + bytes.length
              + " bytes (expected 1.."
              + SUN_PATH_MAX
              + ")");
    }
    return bytes;
  }

  /** A new close-on-exec AF_UNIX stream socket. */
  private static int unixSocket() throws IOException {
    try {
      return LibC.INSTANCE.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw error("socket(AF_UNIX)", e);
    }
  }

  /** A zeroed {@code sockaddr_un} holding {@code path} (NUL-terminated by the zeroing). */
  private static Memory sockaddrUn(byte[] path) {
    Memory addr = new Memory(SOCKADDR_UN_SIZE);
    addr.clear();
    addr.setShort(0, (short) AF_UNIX);
    addr.write(2, path, 0, path.length);
    return addr;
  }

  /** Accepts one connection (close-on-exec) on a listening socket. */
  public static int accept(int listenFd) throws IOException {
    while (true) {
      try {
        return LibC.INSTANCE.accept4(listenFd, null, null, SOCK_CLOEXEC);
      } catch (LastErrorException e) {
        if (e.getErrorCode() != EINTR) {
          throw error("accept(fd " + listenFd + ")", e);
        }
      }
    }
  }

  public static void shutdown(int fd) {
    try {
      LibC.INSTANCE.shutdown(fd, SHUT_RDWR);
    } catch (LastErrorException e) {
      // Already disconnected: that is what shutdown wanted anyway.
    }
  }

  /**
   * Waits until one of {@code fds} is readable (or hung up); returns the index of the first such
   * fd, or -1 on timeout. {@code pollfds} is caller-owned scratch memory of 8 bytes per fd.
   */
  public static int pollReadable(Memory pollfds, int[] fds, int count, int timeoutMillis)
      throws IOException {
    for (int i = 0; i < count; i++) {
      pollfds.setInt(i * 8L, fds[i]);
      pollfds.setShort(i * 8L + 4, POLLIN);
      pollfds.setShort(i * 8L + 6, (short) 0);
    }
    while (true) {
      int n;
      try {
        n = LibC.INSTANCE.poll(pollfds, count, timeoutMillis);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == EINTR) {
          continue;
        }
        throw error("poll", e);
      }
      if (n == 0) {
        return -1;
      }
      for (int i = 0; i < count; i++) {
        if (pollfds.getShort(i * 8L + 6) != 0) {
          return i;
        }
      }
      return -1;
    }
  }

  /** One read of at most {@code length} bytes into {@code buf}; 0 at end of stream. */
  public static int read(int fd, Memory buf, int length) throws IOException {
    while (true) {
      try {
        return (int) LibC.INSTANCE.read(fd, buf, Math.min(length, buf.size()));
      } catch (LastErrorException e) {
        if (e.getErrorCode() != EINTR) {
          throw error("read(fd " + fd + ")", e);
        }
      }
    }
  }

  /** A new eventfd with counter 0; {@code flags} from {@link #EFD_NONBLOCK} (CLOEXEC is added). */
  public static int eventFd(int flags) throws IOException {
    try {
      return LibC.INSTANCE.eventfd(0, flags | EFD_CLOEXEC);
    } catch (LastErrorException e) {
      throw error("eventfd", e);
    }
  }

  /** Adds {@code value} to an eventfd's counter (8-byte write). */
  public static void eventFdWrite(int fd, long value) throws IOException {
    Memory m = EIGHT_BYTES.get();
    m.setLong(0, value);
    try {
      long n = LibC.INSTANCE.write(fd, m, 8);
      if (n != 8) {
        throw new IOException("eventfd write to fd " + fd + " wrote " + n + " bytes (expected 8)");
      }
    } catch (LastErrorException e) {
      throw error("write(eventfd " + fd + ")", e);
    }
  }

  /**
   * Reads and clears an eventfd's counter; returns 0 when a non-blocking eventfd had nothing (or
   * the fd is not an eventfd and had nothing to read).
   */
  public static long eventFdRead(int fd) throws IOException {
    Memory m = EIGHT_BYTES.get();
    try {
      long n = LibC.INSTANCE.read(fd, m, 8);
      return n == 8 ? m.getLong(0) : 0;
    } catch (LastErrorException e) {
      if (e.getErrorCode() == EAGAIN) {
        return 0;
      }
      throw error("read(eventfd " + fd + ")", e);
    }
  }

  /** An anonymous memory file (close-on-exec) of {@code size} bytes. */
  public static int memfd(String name, long size) throws IOException {
    int fd;
    try {
      fd = LibC.INSTANCE.memfd_create(name, MFD_CLOEXEC);
    } catch (LastErrorException e) {
      throw error("memfd_create(" + name + ")", e);
    }
    try {
      LibC.INSTANCE.ftruncate(fd, size);
      return fd;
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw error("ftruncate(memfd " + name + ", " + size + ")", e);
    }
  }

  public static FileStat fstat(int fd) throws IOException {
    try (Memory st = new Memory(STAT_SIZE)) {
      st.clear();
      LibC.INSTANCE.fstat(fd, st);
      int mode = st.getInt(X86_64 ? STAT_MODE_X86_64 : STAT_MODE_GENERIC);
      return new FileStat(
          st.getLong(STAT_DEV), st.getLong(STAT_INO), mode, st.getLong(STAT_SIZE_OFFSET));
    } catch (LastErrorException e) {
      throw error("fstat(fd " + fd + ")", e);
    }
  }

  /**
   * {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, offset)}; returns the address.
   */
  public static long mapShared(int fd, long offset, long length) throws IOException {
    try {
      Pointer p = LibC.INSTANCE.mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
      return checkMapped(
          Pointer.nativeValue(p),
          "mmap(fd " + fd + ", offset " + offset + ", length " + length + ")");
    } catch (LastErrorException e) {
      throw error("mmap(fd " + fd + ", offset " + offset + ", length " + length + ")", e);
    }
  }

  /**
   * Replaces [address, address+length) in place with private, unreserved anonymous memory. The
   * range stays valid (reads see zeroes) while the file behind it is released.
   */
  public static void replaceWithAnonymous(long address, long length) throws IOException {
    try {
      Pointer p =
          LibC.INSTANCE.mmap(
              new Pointer(address),
              length,
              PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
              -1,
              0);
      checkMapped(Pointer.nativeValue(p), "mmap(MAP_FIXED|MAP_ANONYMOUS)");
    } catch (LastErrorException e) {
      throw error("mmap(MAP_FIXED|MAP_ANONYMOUS, length " + length + ")", e);
    }
  }

  public static void unmap(long address, long length) {
    try {
      LibC.INSTANCE.munmap(new Pointer(address), length);
    } catch (LastErrorException e) {
      // munmap only fails for a bad range, which would be a bug here; nothing to undo.
    }
  }

  private static long checkMapped(long address, String call) throws IOException {
    if (address == -1L || address == 0) {
      throw new IOException(call + " returned no mapping");
    }
    return address;
  }

  /** The system page size, for aligning mmap offsets. */
  public static long pageSize() {
    return PAGE_SIZE;
  }
}
