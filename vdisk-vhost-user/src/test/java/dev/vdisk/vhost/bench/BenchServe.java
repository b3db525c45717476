package dev.vdisk.vhost.bench;

import dev.vdisk.backend.FileDisk;
import dev.vdisk.vhost.VhostUserServer;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.nio.file.Path;

/**
 * The vdisk side of the end-to-end comparison, as its own process (so its CPU time can be read from
 * /proc like qemu-storage-daemon's): serves an image file over vhost-user-blk with the same device
 * settings {@code vdisk serve --file IMAGE} uses (defaults: one queue of 256, 512-byte blocks,
 * discard and write-zeroes on). Prints {@value #READY} once the socket listens; stops, after
 * flushing the image, when its standard input closes.
 *
 * <p>Usage: {@code BenchServe SOCKET IMAGE QUEUES}
 */
public final class BenchServe {
  public static final String READY = "BENCH-SERVE-READY";

  private BenchServe() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: BenchServe SOCKET IMAGE QUEUES");
      System.exit(2);
    }
    Path socket = Path.of(args[0]);
    int queues = Integer.parseInt(args[2]);
    try (FileDisk disk = FileDisk.open(Path.of(args[1]), false)) {
      VirtioBlkDevice device = VirtioBlkDevice.builder(disk).queues(queues).build();
      try (VhostUserServer server = VhostUserServer.builder(socket, device).start()) {
        System.out.println(READY);
        System.out.flush();
        // The harness closes our stdin to stop us; reading to EOF is the whole control protocol.
        while (System.in.read() >= 0) {
          // ignore input
        }
        System.out.println("vdisk stats: " + server.stats() + "; " + device.stats());
      } finally {
        device.reset();
        disk.flush();
      }
    }
  }
}
