package dev.vdisk.qemu.natives;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The few libc calls the QEMU proxy needs. 64-bit Linux only: {@code size_t}/{@code off_t} are
 * mapped to Java {@code long}, which {@link Posix} checks once at class initialisation.
 */
interface LibC extends Library {
  LibC INSTANCE = Native.load("c", LibC.class);

  int socket(int domain, int type, int protocol) throws LastErrorException;

  int socketpair(int domain, int type, int protocol, int[] sv) throws LastErrorException;

  int connect(int fd, Pointer addr, int addrLen) throws LastErrorException;

  int shutdown(int fd, int how) throws LastErrorException;

  long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

  long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

  long read(int fd, Pointer buf, long count) throws LastErrorException;

  long write(int fd, Pointer buf, long count) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  int poll(Pointer fds, long nfds, int timeoutMillis) throws LastErrorException;

  int eventfd(int initval, int flags) throws LastErrorException;

  int memfd_create(String name, int flags) throws LastErrorException;

  int ftruncate(int fd, long length) throws LastErrorException;

  int fstat(int fd, Pointer statBuf) throws LastErrorException;

  Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset)
      throws LastErrorException;

  int munmap(Pointer addr, long length) throws LastErrorException;

  long sysconf(int name);

  String strerror(int errnum);
}
