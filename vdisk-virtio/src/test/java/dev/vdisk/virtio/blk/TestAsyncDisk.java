package dev.vdisk.virtio.blk;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.ForwardingBlockDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * An {@link AsyncBlockDevice} over any disk for tests: submitted operations wait in a list until
 * the test completes them (in any order, from any thread), or, in auto mode, run on a small pool
 * with random delays so completions arrive out of order.
 */
final class TestAsyncDisk extends ForwardingBlockDevice implements AsyncBlockDevice {
  record Op(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {}

  private final List<Op> pending = new ArrayList<>();
  private final ExecutorService pool;
  private final AtomicInteger submitted = new AtomicInteger();
  private volatile long failOffset = -1;

  TestAsyncDisk(BlockDevice inner, boolean auto) {
    super(inner);
    this.pool = auto ? Executors.newFixedThreadPool(3) : null;
  }

  /** Operations at this byte offset fail with IO_ERROR. */
  void failAt(long offset) {
    failOffset = offset;
  }

  int submitted() {
    return submitted.get();
  }

  @Override
  public void submit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    submitted.incrementAndGet();
    Op o = new Op(op, offset, store, storeOffset, length, token, completion);
    if (pool != null) {
      int delay = Math.floorMod((int) (offset * 31 + token), 200);
      pool.execute(
          () -> {
            for (int i = 0; i < delay; i++) {
              Thread.onSpinWait();
            }
            run(o);
          });
      return;
    }
    synchronized (pending) {
      pending.add(o);
    }
  }

  int pendingCount() {
    synchronized (pending) {
      return pending.size();
    }
  }

  /** Completes every pending op in a random order; returns how many. */
  int completeAll(Random random) {
    List<Op> ops;
    synchronized (pending) {
      ops = new ArrayList<>(pending);
      pending.clear();
    }
    Collections.shuffle(ops, random);
    for (Op o : ops) {
      run(o);
    }
    return ops.size();
  }

  /** Performs the I/O and calls the completion. */
  void run(Op o) {
    BlockDeviceException error = null;
    try {
      if (o.offset == failOffset) {
        throw new BlockDeviceException(
            BlockDeviceException.Reason.IO_ERROR, "injected", o.offset, o.length);
      }
      switch (o.op) {
        case OP_READ -> inner.read(o.offset, o.store, o.storeOffset, o.length);
        case OP_WRITE -> inner.write(o.offset, o.store, o.storeOffset, o.length);
        case OP_FLUSH -> inner.flush();
        case OP_DISCARD -> inner.discard(o.offset, o.length);
        case OP_WRITE_ZEROES -> inner.writeZeroes(o.offset, o.length, false);
        case OP_WRITE_ZEROES_UNMAP -> inner.writeZeroes(o.offset, o.length, true);
        default ->
            throw new BlockDeviceException(
                BlockDeviceException.Reason.UNSUPPORTED, "op " + o.op, o.offset, o.length);
      }
    } catch (BlockDeviceException e) {
      error = e;
    } catch (IOException e) {
      error =
          new BlockDeviceException(
              BlockDeviceException.Reason.IO_ERROR, e.toString(), o.offset, o.length);
    }
    o.completion.complete(o.token, error);
  }

  @Override
  public void close() throws IOException {
    if (pool != null) {
      pool.shutdown();
      try {
        pool.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    super.close();
  }
}
