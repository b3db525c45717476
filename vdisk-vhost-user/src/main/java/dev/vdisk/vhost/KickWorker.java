package dev.vdisk.vhost;

import com.sun.jna.Memory;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.vhost.natives.PollSet;
import dev.vdisk.virtio.VirtioDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread per running queue: waits for the front end's kick eventfd and hands the queue to the
 * device. The device processes the ring on this thread, so queues run in parallel and a slow
 * backend stalls only its own queue. Stops when its stop eventfd is signalled.
 */
final class KickWorker implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(KickWorker.class);

  private final VirtioDevice device;
  private final int queue;
  private final EventFd kick;
  private final EventFd stop;
  private final VhostUserStats stats;
  private final Thread thread;

  private KickWorker(
      VirtioDevice device, int queue, EventFd kick, EventFd stop, VhostUserStats stats, String n) {
    this.device = device;
    this.queue = queue;
    this.kick = kick;
    this.stop = stop;
    this.stats = stats;
    this.thread = new Thread(this, n);
    thread.setDaemon(true);
  }

  /** Starts a worker; the kick eventfd stays owned by the caller. */
  static KickWorker start(
      VirtioDevice device, int queue, EventFd kick, VhostUserStats stats, String connectionName)
      throws NativeException {
    EventFd stop = EventFd.create();
    KickWorker w =
        new KickWorker(device, queue, kick, stop, stats, "vdisk-" + connectionName + "-q" + queue);
    w.thread.start();
    return w;
  }

  @Override
  public void run() {
    PollSet poll = new PollSet(2);
    Memory scratch = new Memory(8);
    try {
      // Buffers may have been made available while nobody listened (a reconnect, a re-activation):
      // a spurious notification is always allowed, a missed one hangs the guest.
      device.queueNotified(queue);
      while (true) {
        poll.set(0, kick.fd(), PollSet.POLLIN);
        poll.set(1, stop.fd(), PollSet.POLLIN);
        if (poll.poll(2, -1) == 0) {
          continue;
        }
        if (poll.readable(1)) {
          return;
        }
        if (poll.failed(0)) {
          LOG.warn(
              "queue {}: kick eventfd {} failed (revents 0x{})",
              queue,
              kick.fd(),
              Integer.toHexString(poll.revents(0)));
          return;
        }
        if (poll.readable(0) && kick.drain(scratch) != 0) {
          stats.kicks.increment();
          device.queueNotified(queue);
        }
      }
    } catch (NativeException e) {
      LOG.warn("queue {}: kick loop stopped: {}", queue, e.getMessage());
    } catch (RuntimeException e) {
      // The device contract says queueNotified never throws; if it does, that is a vdisk bug.
      LOG.error("queue {}: device threw while processing the queue; queue stopped", queue, e);
    }
  }

  /** Stops the thread and waits for it (so the device is not entered for this queue afterwards). */
  void stop() {
    try {
      stop.signal();
    } catch (NativeException e) {
      LOG.warn("queue {}: cannot signal the kick worker to stop: {}", queue, e.getMessage());
    }
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    stop.close();
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
