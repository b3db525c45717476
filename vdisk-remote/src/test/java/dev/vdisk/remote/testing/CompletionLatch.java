package dev.vdisk.remote.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDeviceException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One completion for a known number of asynchronous requests: counts them down and keeps the first
 * error, so a test can submit many requests and then check that all of them finished, without one.
 */
public final class CompletionLatch implements AsyncBlockDevice.Completion {
  private final CountDownLatch done;
  private final AtomicReference<BlockDeviceException> firstError = new AtomicReference<>();

  public CompletionLatch(int requests) {
    done = new CountDownLatch(requests);
  }

  @Override
  public void complete(long token, BlockDeviceException error) {
    if (error != null) {
      firstError.compareAndSet(null, error);
    }
    done.countDown();
  }

  /** Fails the test unless every request completed within {@code seconds}, none with an error. */
  public void assertAllSucceededWithin(long seconds) throws InterruptedException {
    assertThat(done.await(seconds, TimeUnit.SECONDS))
        .as("%d requests still open after %d s", done.getCount(), seconds)
        .isTrue();
    assertThat(firstError.get()).isNull();
  }
}
