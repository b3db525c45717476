package dev.vdisk.remote.imdisk;

import dev.vdisk.remote.io.Endpoint;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An ImDisk proxy server: {@code imdisk://HOST[:PORT][/PATH]} (port 9000 by default, as ImDisk's
 * helper service; a PATH is sent to the server as CONNECT, exactly as the service relays a {@code
 * host:port://path} string) or {@code imdisk+unix://SOCKET-PATH}.
 *
 * @param connectPath sent in a leading CONNECT, or null
 */
public record ImDiskTarget(Endpoint endpoint, String connectPath) {
  public ImDiskTarget {
    Objects.requireNonNull(endpoint, "endpoint");
  }

  public static ImDiskTarget parse(URI uri) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    if (uri.getRawQuery() != null) {
      throw new IllegalArgumentException("ImDisk URI " + uri + " takes no parameters");
    }
    switch (scheme) {
      case "imdisk" -> {
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
          throw new IllegalArgumentException(
              "imdisk URI " + uri + " has no host (expected imdisk://HOST:PORT)");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        String connect = path.length() > 1 ? decode(path.substring(1)) : null;
        return new ImDiskTarget(
            Endpoint.parseHostPort(decode(authority), ImDiskProtocol.DEFAULT_PORT), connect);
      }
      case "imdisk+unix" -> {
        String p = uri.getRawSchemeSpecificPart();
        // imdisk+unix:///run/x.sock and imdisk+unix:/run/x.sock both name /run/x.sock.
        String path = decode(p.startsWith("//") ? p.substring(2) : p);
        if (path.isEmpty()) {
          throw new IllegalArgumentException(
              "imdisk+unix URI " + uri + " has no socket path (imdisk+unix:///PATH)");
        }
        return new ImDiskTarget(Endpoint.unix(Path.of(path)), null);
      }
      default ->
          throw new IllegalArgumentException(
              "URI scheme '" + scheme + "' in " + uri + " (expected imdisk or imdisk+unix)");
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
