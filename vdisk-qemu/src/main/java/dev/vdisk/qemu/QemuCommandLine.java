package dev.vdisk.qemu;

/**
 * How QEMU must be started for {@code vdisk attach-qemu}, as text for the command's help and the
 * README (compile-time constants so picocli annotations can use them). Why each part: the proxy
 * sends guest RAM only when it is fd-backed, at most 7 fds (keep RAM below the PCI hole, none above
 * 4 GiB); {@code -S} keeps the guest from running before the device exists; q35's root bus takes no
 * hotplugged device, so it needs an empty root port.
 */
public final class QemuCommandLine {
  public static final String PC =
      "qemu-system-x86_64 -machine pc,memory-backend=mem \\\\%n"
          + "    -object memory-backend-memfd,id=mem,size=256M -m 256M \\\\%n"
          + "    -qmp unix:/tmp/vdisk-qmp.sock,server=on,wait=off -S  [other options]";

  public static final String Q35_EXTRA = "-device pcie-root-port,id=vdisk-port,chassis=1";

  public static final String ATTACH = "vdisk attach-qemu --qmp /tmp/vdisk-qmp.sock --file disk.img";

  /** The help footer of {@code vdisk attach-qemu} (picocli format: %n is a line break). */
  public static final String HELP =
      "%nStart QEMU 7.2 paused, with memfd-backed RAM (at most 2 GiB) and a QMP socket, then attach:%n%n"
          + "  "
          + PC
          + "%n  "
          + ATTACH
          + "%n%n"
          + "On -machine q35 also give the device an empty root port:%n  "
          + Q35_EXTRA
          + "%n%n"
          + "Linux guests need 'irqpoll nolapic pci=nomsi' on their command line: the proxy has no%n"
          + "MSI path and its INTx eventfd is read only by KVM, so under TCG no interrupt reaches the%n"
          + "guest (SeaBIOS and OVMF poll). Every register access is a socket round trip: this is%n"
          + "for running drivers against vdisk's own PCI device, not for speed.";

  private QemuCommandLine() {}
}
