package dev.vdisk.virtio.pci;

/**
 * What the VMM implements to receive the function's interrupts. The transport decides which one is
 * due: an MSI-X message while MSI-X is enabled (vector mapped and unmasked), otherwise the INTx
 * level, which follows the ISR (asserted while any ISR bit is set, unless the Command register's
 * INTx-disable bit gates it).
 *
 * <p>Both methods are called with the transport's interrupt lock held, so calls arrive in the order
 * the transport made its decisions (an assert is never overtaken by the matching de-assert). They
 * may be called from any thread (a vCPU thread doing a register access, or a device thread
 * completing a request); they must not block and must not call back into the transport.
 */
public interface InterruptSink {

  /** A sink that drops every interrupt: for guests that poll (SeaBIOS, OVMF) and for tests. */
  InterruptSink NONE =
      new InterruptSink() {
        @Override
        public void msi(long address, int data) {}

        @Override
        public void intx(boolean asserted) {}
      };

  /** Write {@code data} (32 bits) to {@code address}: an MSI-X message from the vector table. */
  void msi(long address, int data);

  /** The INTA# level changed: {@code true} asserted, {@code false} de-asserted. */
  void intx(boolean asserted);
}
