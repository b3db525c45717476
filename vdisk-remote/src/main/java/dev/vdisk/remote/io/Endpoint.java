package dev.vdisk.remote.io;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where a stream peer lives: a TCP host and port or a Unix socket path. Both carry the identical
 * byte stream for NBD and the ImDisk proxy, so everything above this class is transport-blind.
 */
public final class Endpoint {
  private final String host;
  private final int port;
  private final Path unixPath;

  private Endpoint(String host, int port, Path unixPath) {
    this.host = host;
    this.port = port;
    this.unixPath = unixPath;
  }

  public static Endpoint tcp(String host, int port) {
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " (expected 0..65535)");
    }
    return new Endpoint(host, port, null);
  }

  public static Endpoint unix(Path path) {
    return new Endpoint(null, -1, Objects.requireNonNull(path, "path"));
  }

  /**
   * Parses {@code HOST:PORT} (IPv6 in brackets: {@code [::1]:10809}); a missing port takes {@code
   * defaultPort}.
   */
  public static Endpoint parseHostPort(String text, int defaultPort) {
    String host = text;
    int port = defaultPort;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("address '" + text + "' (expected [IPv6]:PORT)");
      }
      host = text.substring(1, close);
      String rest = text.substring(close + 1);
      if (rest.startsWith(":")) {
        port = parsePort(rest.substring(1), text);
      } else if (!rest.isEmpty()) {
        throw new IllegalArgumentException("address '" + text + "' (expected [IPv6]:PORT)");
      }
    } else {
      int colon = text.lastIndexOf(':');
      if (colon >= 0) {
        host = text.substring(0, colon);
        port = parsePort(text.substring(colon + 1), text);
      }
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("address '" + text + "' has no host");
    }
    return tcp(host, port);
  }

  private static int parsePort(String s, String whole) {
    try {
      int p = Integer.parseInt(s);
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("port '" + s + "' in '" + whole + "' (expected 0..65535)");
    }
  }

  public boolean isUnix() {
    return unixPath != null;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public Path unixPath() {
    return unixPath;
  }

  /**
   * Connects a blocking channel, giving up after {@code timeout}. TCP gets TCP_NODELAY: every
   * protocol here is request/response and small headers must not wait for Nagle.
   */
  public SocketChannel connect(Duration timeout) throws IOException {
    if (isUnix()) {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.connect(UnixDomainSocketAddress.of(unixPath));
        return ch;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }
    SocketChannel ch = SocketChannel.open();
    try {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      // The channel's own connect has no timeout; its socket adaptor's does.
      ch.socket().connect(new InetSocketAddress(host, port), timeoutMillis(timeout));
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Binds a listening channel; a stale Unix socket file at the path is replaced. */
  public ServerSocketChannel bind(int backlog) throws IOException {
    if (isUnix()) {
      Files.deleteIfExists(unixPath);
      ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      ch.bind(UnixDomainSocketAddress.of(unixPath), backlog);
      return ch;
    }
    ServerSocketChannel ch = ServerSocketChannel.open();
    ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
    ch.bind(new InetSocketAddress(host, port), backlog);
    return ch;
  }

  /** The endpoint a bound channel actually listens on (resolves port 0). */
  public static Endpoint of(SocketAddress address) {
    if (address instanceof UnixDomainSocketAddress u) {
      return unix(u.getPath());
    }
    InetSocketAddress i = (InetSocketAddress) address;
    return tcp(i.getAddress().getHostAddress(), i.getPort());
  }

  private static int timeoutMillis(Duration timeout) {
    long ms = timeout.toMillis();
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
  }

  @Override
  public String toString() {
    if (isUnix()) {
      return "unix:" + unixPath;
    }
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
