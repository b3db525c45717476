package dev.vdisk.virtio.pci;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** An {@link InterruptSink} that records MSI messages and the INTx level. */
final class RecordingSink implements InterruptSink {
  record Msi(long address, int data) {}

  final List<Msi> messages = new CopyOnWriteArrayList<>();
  volatile boolean intx;
  volatile int intxAsserts;

  @Override
  public void msi(long address, int data) {
    messages.add(new Msi(address, data));
  }

  @Override
  public void intx(boolean asserted) {
    if (asserted && !intx) {
      intxAsserts++;
    }
    intx = asserted;
  }
}
