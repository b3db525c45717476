package dev.vdisk.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Counts this process's open fds and mappings of one named memfd, to prove nothing leaks. */
final class FdProbe {
  private FdProbe() {}

  /** Open fds whose target is {@code /memfd:NAME (deleted)}. */
  static long openFds(String memfdName) throws IOException {
    String target = "/memfd:" + memfdName;
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(
              p -> {
                try {
                  return Files.readSymbolicLink(p).toString().startsWith(target);
                } catch (IOException e) {
                  return false; // closed while we looked
                }
              })
          .count();
    }
  }

  /** Lines of /proc/self/maps that map {@code /memfd:NAME}. */
  static long mappings(String memfdName) throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
    String target = "/memfd:" + memfdName;
    return lines.stream().filter(l -> l.contains(target)).count();
  }
}
