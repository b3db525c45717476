package dev.vdisk.qemu;

import dev.vdisk.qemu.natives.Posix;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * INTx through the two eventfds of SET_IRQFD, as QEMU's own remote does it ({@code
 * hw/remote/iohub.c}): a rising level writes 1 to the "irq" eventfd (KVM injects a level
 * interrupt); when the guest EOIs, KVM signals the "resample" eventfd and lowers the line, and if
 * the device still asserts it the irq eventfd is signalled again. Under TCG the main QEMU never
 * reads the irq eventfd, so this is inert there but harmless.
 */
public final class IntxEventFds implements IntxLine, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IntxEventFds.class);

  private int irqFd = -1;
  private int resampleFd = -1;
  private boolean asserted;
  private long signals;

  /** Takes ownership of both fds; closes the previous pair. */
  synchronized void set(int irq, int resample) {
    Posix.closeQuietly(irqFd);
    Posix.closeQuietly(resampleFd);
    irqFd = irq;
    resampleFd = resample;
    if (asserted) {
      signal();
    }
  }

  /** The resample eventfd to watch, or -1. */
  synchronized int resampleFd() {
    return resampleFd;
  }

  @Override
  public synchronized void setLevel(boolean level) {
    boolean rising = level && !asserted;
    asserted = level;
    if (rising) {
      signal();
    }
  }

  /** The resample eventfd became readable: drain it and re-signal a line that is still high. */
  synchronized void resample() {
    if (resampleFd < 0) {
      return;
    }
    try {
      Posix.eventFdRead(resampleFd);
    } catch (IOException e) {
      LOG.warn("reading the INTx resample eventfd failed: {}", e.getMessage());
    }
    if (asserted) {
      signal();
    }
  }

  synchronized boolean asserted() {
    return asserted;
  }

  synchronized long signals() {
    return signals;
  }

  private void signal() {
    if (irqFd < 0) {
      return;
    }
    try {
      Posix.eventFdWrite(irqFd, 1);
      signals++;
    } catch (IOException e) {
      LOG.warn("signalling the INTx eventfd failed: {}", e.getMessage());
    }
  }

  @Override
  public synchronized void close() {
    Posix.closeQuietly(irqFd);
    Posix.closeQuietly(resampleFd);
    irqFd = -1;
    resampleFd = -1;
  }
}
