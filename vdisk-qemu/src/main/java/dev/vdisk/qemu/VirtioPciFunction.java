package dev.vdisk.qemu;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.blk.Profile;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.pci.BarLayout;
import dev.vdisk.virtio.pci.BarWidth;
import dev.vdisk.virtio.pci.InterruptSink;
import dev.vdisk.virtio.pci.PciProfile;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * vdisk's whole virtio-pci function ({@link VirtioPciDevice} over a {@link VirtioBlkDevice}) as
 * QEMU's multi-process proxy drives it. The virtio BAR is 32-bit: QEMU 7.2's proxy registers each
 * BAR dword as a BAR of its own, so a 64-bit BAR's upper dword would become a bogus I/O BAR (and
 * OVMF, which places 64-bit BARs above 4 GiB, would find no disk).
 *
 * <p>Interrupts: the proxy has no MSI path, so MSI-X messages are dropped (counted, logged once);
 * INTx goes to the SET_IRQFD eventfds, which only KVM reads. Under TCG no interrupt reaches the
 * guest: firmware polls, and Linux needs {@code irqpoll nolapic pci=nomsi}.
 */
public final class VirtioPciFunction implements ProxiedFunction {
  private static final Logger LOG = LoggerFactory.getLogger(VirtioPciFunction.class);

  /** The two device layouts {@code attach-qemu --profile} offers. */
  public enum QemuProfile {
    DEFAULT(PciProfile.DEFAULT, Profile.DEFAULT),
    AERO(PciProfile.AERO, Profile.AERO);

    final PciProfile pci;
    final Profile blk;

    QemuProfile(PciProfile pci, Profile blk) {
      this.pci = pci;
      this.blk = blk;
    }

    /** {@code default} or {@code aero}, any case. */
    public static QemuProfile parse(String name) {
      for (QemuProfile p : values()) {
        if (p.name().equalsIgnoreCase(name)) {
          return p;
        }
      }
      throw new IllegalArgumentException("profile '" + name + "' (expected: default or aero)");
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final VirtioPciDevice pci;
  private final int bar;
  private final long barSize;

  private VirtioPciFunction(VirtioPciDevice pci) {
    this.pci = pci;
    BarLayout layout = pci.layout();
    this.bar = layout.bar();
    this.barSize = layout.size();
  }

  /** Wraps an already built transport (its BAR must be 32-bit for this proxy). */
  public static VirtioPciFunction of(VirtioPciDevice pci) {
    if (pci.layout().width() != BarWidth.BITS_32) {
      throw new IllegalArgumentException(
          "BAR width " + pci.layout().width() + " (QEMU's proxy needs " + BarWidth.BITS_32 + ")");
    }
    return new VirtioPciFunction(pci);
  }

  /**
   * A virtio-blk PCI function over {@code backend} with {@code profile}'s layout, a 32-bit BAR, and
   * INTx wired to {@code intx}. The function does not own the backend.
   */
  public static VirtioPciFunction forBlock(
      BlockDevice backend, QemuProfile profile, IntxLine intx, String name) {
    Objects.requireNonNull(intx, "intx");
    VirtioBlkDevice blk = VirtioBlkDevice.builder(backend).profile(profile.blk).build();
    VirtioPciDevice pci =
        VirtioPciDevice.builder(blk)
            .profile(profile.pci)
            .barWidth(BarWidth.BITS_32)
            .interruptSink(new ProxySink(intx, name))
            .name(name)
            .build();
    return new VirtioPciFunction(pci);
  }

  /** The transport, for statistics. */
  public VirtioPciDevice transport() {
    return pci;
  }

  @Override
  public long configRead(int offset, int size) {
    return pci.configRead(offset, size);
  }

  @Override
  public void configWrite(int offset, int size, long value) {
    pci.configWrite(offset, size, value);
  }

  @Override
  public long barBase(int index) {
    return index == bar ? pci.barAddress() : 0;
  }

  @Override
  public long barSize(int index) {
    return index == bar ? barSize : 0;
  }

  @Override
  public boolean barIsIo(int index) {
    return false;
  }

  @Override
  public long barRead(int index, long offset, int size) {
    return pci.barRead(index, offset, size);
  }

  @Override
  public void barWrite(int index, long offset, int size, long value) {
    pci.barWrite(index, offset, size, value);
  }

  @Override
  public void reset() {
    pci.resetFunction();
  }

  @Override
  public void memoryChanged(GuestMemory memory) {
    pci.setGuestMemory(memory);
  }

  /** INTx to the proxy's eventfds; MSI-X has nowhere to go through this proxy. */
  private static final class ProxySink implements InterruptSink {
    private final IntxLine intx;
    private final String name;
    private final AtomicLong droppedMsi = new AtomicLong();

    ProxySink(IntxLine intx, String name) {
      this.intx = intx;
      this.name = name;
    }

    @Override
    public void msi(long address, int data) {
      if (droppedMsi.getAndIncrement() == 0) {
        LOG.warn(
            "{}: the guest enabled MSI-X, but QEMU's multi-process proxy has no MSI path; the "
                + "interrupt is dropped (boot Linux with pci=nomsi so it uses INTx)",
            name);
      }
    }

    @Override
    public void intx(boolean asserted) {
      intx.setLevel(asserted);
    }
  }
}
