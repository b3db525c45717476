package dev.vdisk.remote.nbd;

import dev.vdisk.remote.io.Endpoint;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An NBD export: where the server is and the export's name. Parses the URI syntax libnbd and QEMU
 * share: {@code nbd://HOST[:PORT][/EXPORT]} and {@code nbd+unix:///[EXPORT]?socket=PATH}.
 *
 * @param fua send every write with FUA (write-through; the device then needs no flush)
 */
public record NbdTarget(Endpoint endpoint, String exportName, boolean fua) {

  public NbdTarget {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(exportName, "exportName");
    if (exportName.getBytes(StandardCharsets.UTF_8).length > NbdProtocol.MAX_STRING) {
      throw new IllegalArgumentException(
          "export name of " + exportName.length() + " chars (expected <= 4096 bytes)");
    }
  }

  public static NbdTarget parse(URI uri) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    if (!scheme.equals("nbd") && !scheme.equals("nbd+unix")) {
      throw new IllegalArgumentException(
          "URI scheme '"
              + scheme
              + "' in "
              + uri
              + " (expected nbd or nbd+unix; TLS is not supported)");
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String export = path.startsWith("/") ? decode(path.substring(1)) : decode(path);
    String socket = null;
    boolean fua = false;
    if (uri.getRawQuery() != null && !uri.getRawQuery().isEmpty()) {
      for (String param : uri.getRawQuery().split("&")) {
        int eq = param.indexOf('=');
        String key = decode(eq < 0 ? param : param.substring(0, eq));
        String value = eq < 0 ? "" : decode(param.substring(eq + 1));
        switch (key) {
          case "socket" -> socket = value;
          case "fua" -> fua = parseBool(value, uri);
          default ->
              throw new IllegalArgumentException(
                  "URI parameter '" + key + "' in " + uri + " (expected socket or fua)");
        }
      }
    }
    if (scheme.equals("nbd+unix")) {
      if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
        throw new IllegalArgumentException(
            "nbd+unix URI " + uri + " has a host (expected nbd+unix:///EXPORT?socket=PATH)");
      }
      if (socket == null || socket.isEmpty()) {
        throw new IllegalArgumentException(
            "nbd+unix URI " + uri + " has no socket= parameter (expected ?socket=PATH)");
      }
      return new NbdTarget(Endpoint.unix(Path.of(socket)), export, fua);
    }
    if (socket != null) {
      throw new IllegalArgumentException("socket= needs the nbd+unix scheme, not " + uri);
    }
    String authority = uri.getRawAuthority();
    if (authority == null || authority.isEmpty()) {
      throw new IllegalArgumentException("nbd URI " + uri + " has no host (expected nbd://HOST)");
    }
    return new NbdTarget(
        Endpoint.parseHostPort(decode(authority), NbdProtocol.DEFAULT_PORT), export, fua);
  }

  private static boolean parseBool(String v, URI uri) {
    return switch (v.toLowerCase()) {
      case "", "1", "on", "true", "yes" -> true;
      case "0", "off", "false", "no" -> false;
      default ->
          throw new IllegalArgumentException("fua='" + v + "' in " + uri + " (expected on/off)");
    };
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return endpoint + (exportName.isEmpty() ? "" : " export '" + exportName + "'");
  }
}
