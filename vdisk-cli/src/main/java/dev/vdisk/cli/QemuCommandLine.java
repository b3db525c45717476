package dev.vdisk.cli;

import java.nio.file.Path;
import java.util.regex.Pattern;

/** The QEMU options that attach a guest to a {@code vdisk serve} socket. */
final class QemuCommandLine {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_./:=,@%+-]+");

  private QemuCommandLine() {}

  /**
   * A command line attaching a 1 GiB guest. vhost-user needs the guest RAM to be shared (a memfd
   * with share=on as the NUMA node's memory); reconnect=1 lets the guest survive a restart of
   * {@code vdisk serve}. The boot options (kernel, other disks) are the user's to add.
   */
  static String forSocket(Path socket, int queues) {
    String path = socket.toAbsolutePath().toString();
    if (path.contains(",")) {
      path = path.replace(",", ",,"); // QEMU's option syntax escapes commas by doubling them
    }
    return "qemu-system-x86_64 -accel kvm -accel tcg -m 1G"
        + " -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem"
        + " "
        + quote("-chardev")
        + " "
        + quote("socket,id=vdisk0,path=" + path + ",reconnect=1")
        + " -device vhost-user-blk-pci-non-transitional,chardev=vdisk0,num-queues="
        + queues;
  }

  /** Single-quotes a shell word when it needs it. */
  static String quote(String word) {
    return SAFE.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'";
  }
}
