package dev.vdisk.remote.io;

import dev.vdisk.api.AsyncBlockDevice.Completion;
import dev.vdisk.api.BlockDeviceException;
import java.util.concurrent.locks.LockSupport;

/**
 * Turns one asynchronous request into a blocking call for the thread that submitted it: the
 * synchronous {@code BlockDevice} methods of the remote backends submit with a waiter and park
 * until the I/O thread completes it. One instance per thread (kept in a {@code ThreadLocal}) and
 * reused, so a blocking call allocates nothing. Subclasses carry a request's result (an extent, a
 * response frame) and clear it in {@link #clear()}.
 *
 * <p>The wait has no timeout of its own: the backends complete every request by its deadline (the
 * NBD supervisor, the AoE retransmission timer), which is what bounds it.
 */
public class SyncWaiter implements Completion {
  private volatile boolean done;
  private BlockDeviceException error;
  private Thread thread;

  /** Arms the waiter for a request the calling thread is about to submit. */
  public final void reset() {
    done = false;
    error = null;
    thread = Thread.currentThread();
    clear();
  }

  /** Clears the subclass's result fields; called by {@link #reset()}. */
  protected void clear() {}

  @Override
  public final void complete(long token, BlockDeviceException e) {
    error = e;
    done = true;
    LockSupport.unpark(thread);
  }

  /** Parks until the request completes; rethrows its error. */
  public final void await() throws BlockDeviceException {
    while (!done) {
      LockSupport.park(this);
    }
    if (error != null) {
      throw error;
    }
  }
}
