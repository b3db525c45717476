package dev.vdisk.vhost.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What this process holds that a vhost-user back end could leak: descriptors by kind (eventfds,
 * memfds, sockets; read from /proc/self/fd) and mappings of memfds (from /proc/self/maps). Counting
 * by kind, not in total, keeps the JVM's own lazily opened files (class loading, GC) out of it.
 */
public record FdCensus(Map<String, Integer> fds, int memfdMappings) {

  public static FdCensus take() {
    Map<String, Integer> kinds = new TreeMap<>();
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String target;
        try {
          target = Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
          continue; // the directory stream's own descriptor, already closed
        }
        String kind;
        if (target.startsWith("anon_inode:[eventfd]")) {
          kind = "eventfd";
        } else if (target.startsWith("/memfd:")) {
          kind = "memfd";
        } else if (target.startsWith("socket:")) {
          kind = "socket";
        } else {
          continue;
        }
        kinds.merge(kind, 1, Integer::sum);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int maps;
    try (Stream<String> s = Files.lines(Path.of("/proc/self/maps"))) {
      maps = (int) s.filter(l -> l.contains("/memfd:")).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new FdCensus(kinds, maps);
  }
}
