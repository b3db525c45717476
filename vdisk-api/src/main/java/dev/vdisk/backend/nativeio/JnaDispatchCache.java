package dev.vdisk.backend.nativeio;

import com.sun.jna.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives JNA a kept copy of its native dispatch library, so a process does not unpack a new one on
 * every start.
 *
 * <p>Why: by default JNA copies {@code libjnidispatch.so} out of its jar into a temporary file,
 * loads it and unlinks it at once. The file's blocks are freed only when the process exits and its
 * mapping goes, and on a file system mounted with {@code discard} (the project's CI machines) the
 * exiting process then waits for a synchronous discard. Behind a disk busy with writeback that wait
 * was 0.5-1.3 s: one {@code vdisk copy} of 1 GiB in four or five spent it in {@code exit} ({@code
 * ext4_evict_inode -> blkdev_issue_discard} in the exiting thread's kernel stack, after the JVM's
 * last log line). A copy kept under the user's cache directory is written once and never unlinked.
 *
 * <p>The copy is named by the library's size and CRC-32 and compared byte for byte with the bundled
 * one on every use, so a different JNA version gets its own file and a damaged or replaced file is
 * rewritten. (CRC-32, not SHA-256: the JVM computes it natively, where a SHA-256 of the 134 KB ran
 * in the interpreter and cost every start ~0.1 s of CPU; the name only has to tell versions apart,
 * the byte comparison does the checking.) Call {@link #install()} before anything touches JNA's
 * {@code Native} class (it reads the setting once, when it loads the library).
 */
public final class JnaDispatchCache {
  private static final Logger LOG = LoggerFactory.getLogger(JnaDispatchCache.class);

  /** JNA's setting: directories searched for the dispatch library before unpacking one. */
  static final String BOOT_PATH_PROPERTY = "jna.boot.library.path";

  private static final String LIBRARY = System.mapLibraryName("jnidispatch");

  private JnaDispatchCache() {}

  /**
   * Points JNA at a kept copy of its dispatch library under {@code $XDG_CACHE_HOME/vdisk/jna} (or
   * {@code ~/.cache/vdisk/jna}), writing the copy first when needed. Returns the directory, or
   * empty when JNA is left to its default: not Linux, the property already set, or the copy could
   * not be made (logged; JNA then unpacks as usual, which only costs time).
   */
  public static Optional<Path> install() {
    if (!Platform.isLinux() || System.getProperty(BOOT_PATH_PROPERTY) != null) {
      return Optional.empty();
    }
    Optional<Path> root = cacheRoot();
    if (root.isEmpty()) {
      return Optional.empty();
    }
    try {
      Optional<Path> dir = install(root.get());
      dir.ifPresent(d -> System.setProperty(BOOT_PATH_PROPERTY, d.toString()));
      return dir;
    } catch (IOException | RuntimeException e) {
      LOG.debug("JNA dispatch library not cached under {}; JNA unpacks its own", root.get(), e);
      return Optional.empty();
    }
  }

  /**
   * Makes sure {@code root/<size>-<crc32>/libjnidispatch.so} holds this JNA's library and returns
   * that directory; empty when the jar has no library for this platform. Does not set the property.
   */
  static Optional<Path> install(Path root) throws IOException {
    byte[] library = bundledLibrary();
    if (library == null) {
      return Optional.empty();
    }
    CRC32 crc = new CRC32();
    crc.update(library);
    String name = library.length + "-" + Long.toHexString(crc.getValue());
    Path dir = root.resolve(name);
    Path file = dir.resolve(LIBRARY);
    if (Files.isRegularFile(file) && Arrays.equals(library, Files.readAllBytes(file))) {
      return Optional.of(dir);
    }
    Files.createDirectories(
        dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    // Written beside its final name and renamed over it, so a concurrent start never loads a
    // half-written library.
    Path tmp = Files.createTempFile(dir, LIBRARY, ".tmp");
    try {
      Files.write(tmp, library);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    return Optional.of(dir);
  }

  private static Optional<Path> cacheRoot() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && xdg.startsWith("/")) {
      return Optional.of(Path.of(xdg, "vdisk", "jna"));
    }
    String home = System.getProperty("user.home");
    if (home == null || home.isEmpty() || home.equals("?")) {
      return Optional.empty();
    }
    return Optional.of(Path.of(home, ".cache", "vdisk", "jna"));
  }

  /** The dispatch library in JNA's jar for this platform, or null when there is none. */
  private static byte[] bundledLibrary() throws IOException {
    String resource = "/com/sun/jna/" + Platform.RESOURCE_PREFIX + "/" + LIBRARY;
    try (InputStream in = Platform.class.getResourceAsStream(resource)) {
      return in == null ? null : in.readAllBytes();
    }
  }
}
