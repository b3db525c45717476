package dev.vdisk.qemu;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.qemu.VirtioPciFunction.QemuProfile;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * vdisk's virtio-blk PCI function attached to a test QEMU on a background thread, exactly as {@code
 * vdisk attach-qemu} does it. {@link #awaitEnd} joins it once QEMU has exited.
 */
final class AttachedDisk {
  final List<String> status = new CopyOnWriteArrayList<>();
  final AtomicReference<Throwable> failure = new AtomicReference<>();
  final AtomicReference<VirtioPciFunction> function = new AtomicReference<>();
  private final Thread thread;
  private final QemuProcess qemu;

  private AttachedDisk(
      QemuProcess qemu, String id, BlockDevice disk, QemuProfile profile, boolean resume) {
    this.qemu = qemu;
    this.thread =
        new Thread(
            () -> {
              try {
                new QemuAttachment(qemu.qmp.toString(), id, Duration.ofSeconds(60))
                    .resumeVm(resume)
                    .onStatus(status::add)
                    .run(
                        intx -> {
                          VirtioPciFunction f = VirtioPciFunction.forBlock(disk, profile, intx, id);
                          function.set(f);
                          return f;
                        });
              } catch (Throwable t) {
                failure.set(t);
              }
            },
            "attach-" + id);
    thread.setDaemon(true);
  }

  /** Attaches and waits until QEMU accepted the device (and resumed, when {@code resume}). */
  static AttachedDisk attach(
      QemuProcess qemu, String id, BlockDevice disk, QemuProfile profile, boolean resume)
      throws InterruptedException {
    AttachedDisk a = new AttachedDisk(qemu, id, disk, profile, resume);
    a.thread.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (a.status.isEmpty() && a.failure.get() == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    if (a.failure.get() != null) {
      throw new AssertionError(
          "attaching " + id + " failed; QEMU printed:\n" + qemu.output(), a.failure.get());
    }
    if (a.status.isEmpty()) {
      throw new AssertionError(
          "attaching " + id + " took over 90 s; QEMU printed:\n" + qemu.output());
    }
    return a;
  }

  /** Waits for the attachment to end (QEMU exited) and checks it ended without an error. */
  void awaitEnd() throws InterruptedException {
    thread.join(30_000);
    if (thread.isAlive()) {
      throw new AssertionError("attachment still serving 30 s after QEMU exited");
    }
    if (failure.get() != null) {
      throw new AssertionError("attachment failed; QEMU printed:\n" + qemu.output(), failure.get());
    }
  }
}
