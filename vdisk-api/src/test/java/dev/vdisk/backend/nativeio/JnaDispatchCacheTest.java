package dev.vdisk.backend.nativeio;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JnaDispatchCacheTest {
  @TempDir Path root;

  private static byte[] bundled() throws IOException {
    String resource =
        "/com/sun/jna/" + Platform.RESOURCE_PREFIX + "/" + System.mapLibraryName("jnidispatch");
    try (InputStream in = Platform.class.getResourceAsStream(resource)) {
      assertThat(in).as(resource).isNotNull();
      return in.readAllBytes();
    }
  }

  @Test
  void writesJnasOwnLibraryOnceUnderAContentNamedDirectory() throws IOException {
    Optional<Path> dir = JnaDispatchCache.install(root);

    assertThat(dir).isPresent();
    assertThat(dir.get().getParent()).isEqualTo(root);
    assertThat(dir.get().getFileName().toString()).matches("[0-9]+-[0-9a-f]{1,8}");
    Path lib = dir.get().resolve(System.mapLibraryName("jnidispatch"));
    assertThat(Files.readAllBytes(lib)).isEqualTo(bundled());
    try (var left = Files.list(dir.get())) {
      assertThat(left).as("no temporary file left behind").containsExactly(lib);
    }

    // A second start finds it and leaves it alone.
    FileTime old = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(lib, old);
    assertThat(JnaDispatchCache.install(root)).isEqualTo(dir);
    assertThat(Files.getLastModifiedTime(lib)).isEqualTo(old);
  }

  @Test
  void aDamagedCopyIsReplaced() throws IOException {
    Path dir = JnaDispatchCache.install(root).orElseThrow();
    Path lib = dir.resolve(System.mapLibraryName("jnidispatch"));
    byte[] damaged = Files.readAllBytes(lib);
    damaged[damaged.length / 2] ^= 0x5a;
    Files.write(lib, damaged);

    assertThat(JnaDispatchCache.install(root)).contains(dir);
    assertThat(Files.readAllBytes(lib)).isEqualTo(bundled());
  }

  @Test
  void aNewJvmLoadsTheKeptCopyInsteadOfUnpackingOne() throws Exception {
    Path dir = JnaDispatchCache.install(root).orElseThrow();
    Path out = root.resolve("maps.txt");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                List.of(
                    java,
                    "-cp",
                    System.getProperty("java.class.path"),
                    "-Djna.boot.library.path=" + dir,
                    LoadsJna.class.getName(),
                    out.toString()))
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(log).isZero();
    String maps = Files.readString(out);
    assertThat(maps).contains(dir.resolve(System.mapLibraryName("jnidispatch")).toString());
    assertThat(maps).doesNotContain("(deleted)");
  }

  /** Child JVM: makes one JNA call, then saves which native files it has mapped. */
  public static final class LoadsJna {
    public static void main(String[] args) throws IOException {
      long size = LinuxFiles.size(LinuxFiles.open(Path.of("/proc/self/exe"), false));
      if (size <= 0) {
        throw new IllegalStateException("lseek gave " + size);
      }
      StringBuilder mapped = new StringBuilder();
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        if (line.contains("jnidispatch") || line.contains("jna")) {
          mapped.append(line).append('\n');
        }
      }
      Files.writeString(Path.of(args[0]), mapped);
    }
  }
}
