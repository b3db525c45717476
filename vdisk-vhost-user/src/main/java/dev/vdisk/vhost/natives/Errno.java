package dev.vdisk.vhost.natives;

/** The errno values this package reacts to, and a describer for any errno. */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EINVAL = 22;
  public static final int EMFILE = 24;
  public static final int EPIPE = 32;
  public static final int ENOTSOCK = 88;
  public static final int EADDRINUSE = 98;
  public static final int ECONNRESET = 104;
  public static final int ENOTCONN = 107;
  public static final int ECONNREFUSED = 111;

  private static final String[] NAMES = new String[134];

  static {
    NAMES[EPERM] = "EPERM";
    NAMES[ENOENT] = "ENOENT";
    NAMES[EINTR] = "EINTR";
    NAMES[EBADF] = "EBADF";
    NAMES[EAGAIN] = "EAGAIN";
    NAMES[ENOMEM] = "ENOMEM";
    NAMES[EACCES] = "EACCES";
    NAMES[EINVAL] = "EINVAL";
    NAMES[EMFILE] = "EMFILE";
    NAMES[EPIPE] = "EPIPE";
    NAMES[ENOTSOCK] = "ENOTSOCK";
    NAMES[EADDRINUSE] = "EADDRINUSE";
    NAMES[ECONNRESET] = "ECONNRESET";
    NAMES[ENOTCONN] = "ENOTCONN";
    NAMES[ECONNREFUSED] = "ECONNREFUSED";
    NAMES[19] = "ENODEV";
    NAMES[20] = "ENOTDIR";
    NAMES[21] = "EISDIR";
    NAMES[23] = "ENFILE";
    NAMES[36] = "ENAMETOOLONG";
    NAMES[75] = "EOVERFLOW";
    NAMES[95] = "EOPNOTSUPP";
  }

  private Errno() {}

  /** Symbolic name (e.g. {@code "ECONNREFUSED"}) or {@code "errno 123"}. */
  public static String name(int errno) {
    String n = errno > 0 && errno < NAMES.length ? NAMES[errno] : null;
    return n != null ? n : "errno " + errno;
  }

  /** {@code "ECONNREFUSED (Connection refused)"}. */
  public static String describe(int errno) {
    String text;
    try {
      text = LibC.strerror(errno);
    } catch (RuntimeException | LinkageError e) {
      text = null;
    }
    return text == null ? name(errno) : name(errno) + " (" + text + ")";
  }
}
