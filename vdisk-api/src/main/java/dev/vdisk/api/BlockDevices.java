package dev.vdisk.api;

import dev.vdisk.backend.ByteSwapDevice;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.backend.WindowDevice;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens a disk by name: a plain path ({@code disk.img}, {@code /dev/nbd0}) or a URI whose scheme a
 * {@link BlockDeviceProvider} handles ({@code file:disk.img}, {@code ram:64M}, and whatever other
 * modules on the class path add, e.g. {@code nbd://host/export}).
 *
 * <p>After the provider opened the disk, the options every backend shares are applied in this
 * order: the window ({@code offset}, {@code length}), then read-only, then byte swap.
 *
 * <p>A name is taken as a URI when it starts with a scheme of at least two characters followed by
 * {@code :} (so {@code C:\disk.img} stays a path). An unknown scheme is an error that lists the
 * known ones, unless a file of exactly that name exists, which is then opened as a path.
 */
public final class BlockDevices {
  private static final Pattern SCHEME =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.-]+):(.*)", Pattern.DOTALL);

  private BlockDevices() {}

  /** Opens {@code uriOrPath} with default options. */
  public static BlockDevice open(String uriOrPath) throws IOException {
    return open(uriOrPath, OpenOptions.DEFAULTS);
  }

  /**
   * Opens {@code uriOrPath}. Throws {@link IllegalArgumentException} for a malformed name, an
   * unknown scheme or options that do not fit the disk, and {@link IOException} when the disk
   * cannot be opened.
   */
  public static BlockDevice open(String uriOrPath, OpenOptions options) throws IOException {
    Map<String, BlockDeviceProvider> providers = providers();
    URI uri = toUri(uriOrPath, providers);
    BlockDeviceProvider provider = providers.get(uri.getScheme().toLowerCase(Locale.ROOT));
    BlockDevice device = provider.open(uri, options);
    if (options.blockSize() != 0 && device.blockSize() != options.blockSize()) {
      int got = device.blockSize();
      device.close();
      throw new IllegalArgumentException(
          "'"
              + uriOrPath
              + "' has block size "
              + got
              + " (asked for "
              + options.blockSize()
              + "; this backend cannot change it)");
    }
    return applyOptions(device, options);
  }

  /**
   * Applies the shared options to an open device: window, then read-only, then byte swap. The
   * result owns {@code device}; when an option does not fit, {@code device} is closed and the
   * {@link IllegalArgumentException} names the bad value.
   */
  public static BlockDevice applyOptions(BlockDevice device, OpenOptions options)
      throws IOException {
    try {
      BlockDevice d = device;
      if (options.offset() != 0 || options.length() != -1) {
        d = WindowDevice.of(d, options.offset(), options.length());
      }
      if (options.readOnly()) {
        d = ReadOnlyDevice.of(d);
      }
      if (options.byteSwap()) {
        d = ByteSwapDevice.of(d);
      }
      return d;
    } catch (RuntimeException e) {
      try {
        device.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The URI schemes the providers on the class path handle, sorted. */
  public static Set<String> knownSchemes() {
    return Collections.unmodifiableSet(providers().keySet());
  }

  /** Every provider on the class path by scheme; two providers of one scheme is an error. */
  static Map<String, BlockDeviceProvider> providers() {
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    if (loader == null) {
      loader = BlockDevices.class.getClassLoader();
    }
    Map<String, BlockDeviceProvider> byScheme = new TreeMap<>();
    for (BlockDeviceProvider p : ServiceLoader.load(BlockDeviceProvider.class, loader)) {
      for (String scheme : p.schemes()) {
        String s = scheme.toLowerCase(Locale.ROOT);
        BlockDeviceProvider previous = byScheme.putIfAbsent(s, p);
        if (previous != null && previous.getClass() != p.getClass()) {
          throw new IllegalStateException(
              "URI scheme '"
                  + s
                  + "' is claimed by both "
                  + previous.getClass().getName()
                  + " and "
                  + p.getClass().getName());
        }
      }
    }
    return byScheme;
  }

  /** The URI a name stands for (a path becomes a {@code file:} URI). */
  static URI toUri(String name, Map<String, BlockDeviceProvider> providers) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException(
          "disk name is empty (expected a path or a URI such as file:disk.img or ram:64M)");
    }
    Matcher m = SCHEME.matcher(name);
    if (m.matches()) {
      String scheme = m.group(1).toLowerCase(Locale.ROOT);
      if (providers.containsKey(scheme)) {
        return parseUri(name, m.group(1), m.group(2));
      }
      if (!existsAsPath(name)) {
        throw new IllegalArgumentException(
            "unknown disk scheme '"
                + scheme
                + "' in '"
                + name
                + "' (known schemes: "
                + String.join(", ", providers.keySet())
                + "; or give a path)");
      }
    }
    try {
      return Path.of(name).toAbsolutePath().toUri();
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a valid path: " + e.getMessage(), e);
    }
  }

  private static boolean existsAsPath(String name) {
    try {
      return Files.exists(Path.of(name));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  private static URI parseUri(String name, String scheme, String rest) {
    try {
      return new URI(name);
    } catch (URISyntaxException strict) {
      // Not a well-formed URI (a space in a path, say): quote what needs quoting.
      try {
        return new URI(scheme, rest, null);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(
            "'" + name + "' is not a valid URI: " + e.getMessage(), e);
      }
    }
  }
}
