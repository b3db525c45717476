package dev.vdisk.remote.aoe;

import java.net.URI;

/**
 * {@code aoe://IFACE/SHELF.SLOT} (e.g. {@code aoe://vd0/1.2}): the interface the target's segment
 * is on and its AoE address.
 */
public record AoeTarget(String iface, int shelf, int slot) {
  public static AoeTarget parse(URI uri) {
    if (!"aoe".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException(
          "URI scheme '" + uri.getScheme() + "' in " + uri + " (expected aoe)");
    }
    String iface = uri.getAuthority();
    String path = uri.getPath() == null ? "" : uri.getPath();
    if (iface == null || iface.isEmpty()) {
      throw new IllegalArgumentException(
          "aoe URI " + uri + " has no interface (expected aoe://IFACE/SHELF.SLOT)");
    }
    if (uri.getQuery() != null) {
      throw new IllegalArgumentException("aoe URI " + uri + " takes no parameters");
    }
    String addr = path.startsWith("/") ? path.substring(1) : path;
    if (addr.startsWith("e")) {
      addr = addr.substring(1); // Accept the usual "e1.2" spelling too.
    }
    int dot = addr.indexOf('.');
    try {
      if (dot < 0) {
        throw new NumberFormatException();
      }
      int shelf = Integer.parseInt(addr.substring(0, dot));
      int slot = Integer.parseInt(addr.substring(dot + 1));
      if (shelf < 0 || shelf > 65534 || slot < 0 || slot > 254) {
        throw new NumberFormatException();
      }
      return new AoeTarget(iface, shelf, slot);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "AoE address '"
              + addr
              + "' in "
              + uri
              + " (expected SHELF.SLOT, shelf 0..65534, slot 0..254)");
    }
  }
}
