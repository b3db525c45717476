package dev.vdisk.virtio.driver;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.ForwardingBlockDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;

/** An asynchronous disk whose operations wait until the test releases them: requests in flight. */
final class HeldAsyncDisk extends ForwardingBlockDevice implements AsyncBlockDevice {
  private record Op(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {}

  private final List<Op> held = new ArrayList<>();

  HeldAsyncDisk(BlockDevice inner) {
    super(inner);
  }

  @Override
  public synchronized void submit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    held.add(new Op(op, offset, store, storeOffset, length, token, completion));
  }

  synchronized int held() {
    return held.size();
  }

  /** Runs every held operation and completes it; returns how many. */
  int release() {
    List<Op> ops;
    synchronized (this) {
      ops = new ArrayList<>(held);
      held.clear();
    }
    for (Op o : ops) {
      BlockDeviceException error = null;
      try {
        switch (o.op) {
          case OP_READ -> inner.read(o.offset, o.store, o.storeOffset, o.length);
          case OP_WRITE -> inner.write(o.offset, o.store, o.storeOffset, o.length);
          default -> inner.flush();
        }
      } catch (BlockDeviceException e) {
        error = e;
      } catch (IOException e) {
        error =
            new BlockDeviceException(
                BlockDeviceException.Reason.IO_ERROR, e.getMessage(), o.offset, o.length);
      }
      o.completion.complete(o.token, error);
    }
    return ops.size();
  }
}
