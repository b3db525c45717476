package dev.vdisk.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.jna.Memory;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.vhost.VhostUserServer;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.MemFd;
import dev.vdisk.vhost.natives.OwnedFd;
import dev.vdisk.vhost.natives.UnixSocket;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fuzzes the vhost-user back end as a hostile front end would: the fuzzer writes a stream of
 * messages (request codes, flags, sizes and payloads of its choice, with file descriptors attached
 * where it likes) to a live server over a Unix socket, then hangs up.
 *
 * <p>Oracles: the server closes every such connection within a bound (no hang), keeps accepting new
 * ones (one server serves the whole campaign), and leaves no file descriptor and no mapping of the
 * front end's memory behind once the connection is gone.
 */
class VhostUserFuzzTest {
  private static final int MAX_MESSAGES = 12;
  private static final int MEM_BYTES = 1 << 20;
  private static final LinkedBlockingQueue<String> CLOSED = new LinkedBlockingQueue<>();
  private static final Path DIR;
  private static final VhostUserServer SERVER;
  private static final OwnedFd GUEST_RAM;
  private static final EventFd EVENT;

  static {
    try {
      DIR = Files.createTempDirectory("vdisk-vhost-fuzz");
      VirtioBlkDevice device = VirtioBlkDevice.builder(RamDisk.create(1 << 20)).queues(2).build();
      SERVER =
          VhostUserServer.builder(DIR.resolve("s.sock"), device)
              .connectionListener((n, peer, messages, reason) -> CLOSED.add(String.valueOf(reason)))
              .start();
      GUEST_RAM = MemFd.create("vdisk-fuzz-ram", MEM_BYTES);
      EVENT = EventFd.create();
    } catch (IOException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @FuzzTest(maxDuration = "30s")
  void hostileFrontEnd(FuzzedDataProvider data) throws Exception {
    Map<String, String> fdsBefore = openFds();
    CLOSED.clear();
    Memory buffer = new Memory(12 + 4096);
    try (UnixSocket client = UnixSocket.connect(SERVER.socketPath())) {
      int count = data.consumeInt(1, MAX_MESSAGES);
      for (int m = 0; m < count && data.remainingBytes() > 0; m++) {
        int request = data.consumeBoolean() ? data.consumeInt(0, 45) : data.consumeInt();
        int flags =
            data.consumeBoolean() ? 0x1 | (data.consumeBoolean() ? 0x8 : 0) : data.consumeInt();
        byte[] payload = data.consumeBytes(data.consumeInt(0, 4096));
        int declared = data.consumeBoolean() ? payload.length : data.consumeInt();
        buffer.setInt(0, request);
        buffer.setInt(4, flags);
        buffer.setInt(8, declared);
        buffer.write(12, payload, 0, payload.length);
        int nfds = data.consumeInt(0, 9);
        int[] fds = new int[nfds];
        for (int i = 0; i < nfds; i++) {
          fds[i] = data.consumeBoolean() ? GUEST_RAM.fd() : EVENT.fd();
        }
        try {
          client.send(buffer, 12 + payload.length, fds);
        } catch (IOException e) {
          break; // the server already hung up on an earlier message: that is allowed
        }
      }
      client.shutdown();
      if (CLOSED.poll(60, TimeUnit.SECONDS) == null) {
        throw new AssertionError("server did not close a hostile connection within 60 s");
      }
    }
    Map<String, String> leaked = new TreeMap<>(openFds());
    leaked.keySet().removeAll(fdsBefore.keySet());
    // Only the kinds of descriptor the server makes count: the JVM itself opens jars, cgroup
    // files and the listing's own directory at times of its choosing.
    leaked.values().removeIf(target -> !serverKind(target));
    if (!leaked.isEmpty()) {
      throw new AssertionError("file descriptors leaked: " + leaked);
    }
    long mappings = mappingsOfGuestRam();
    if (mappings != 0) {
      throw new AssertionError(mappings + " mappings of the front end's memory left behind");
    }
  }

  private static boolean serverKind(String target) {
    return target.startsWith("socket:")
        || target.startsWith("anon_inode:")
        || target.startsWith("/memfd:");
  }

  /** Open descriptors of this process: number to what it refers to. */
  private static Map<String, String> openFds() throws IOException {
    Map<String, String> fds = new TreeMap<>();
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      for (Path p : (Iterable<Path>) s::iterator) {
        try {
          fds.put(p.getFileName().toString(), Files.readSymbolicLink(p).toString());
        } catch (IOException e) {
          // closed between the listing and the read (the listing's own descriptor)
        }
      }
    }
    return fds;
  }

  private static long mappingsOfGuestRam() throws IOException {
    List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
    return maps.stream().filter(l -> l.contains("vdisk-fuzz-ram")).count();
  }
}
