package dev.vdisk.testkit;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * An off-heap buffer for tests: a fixed-capacity native store plus byte[] helpers, released on
 * close. Use one per thread (Chronicle stores are single-threaded by default).
 */
public final class NativeBuffer implements AutoCloseable {
  private final BytesStore<?, Void> store;

  public NativeBuffer(long capacity) {
    this.store = BytesStore.nativeStoreWithFixedCapacity(capacity);
    store.zeroOut(0, capacity);
  }

  public BytesStore<?, Void> store() {
    return store;
  }

  public long capacity() {
    return store.capacity();
  }

  /** Copies {@code data} into the buffer at {@code offset}. */
  public NativeBuffer put(long offset, byte[] data) {
    store.write(offset, data, 0, data.length);
    return this;
  }

  /** Fills [offset, offset+length) with {@code value}. */
  public NativeBuffer fill(long offset, int length, byte value) {
    for (int i = 0; i < length; i++) {
      store.writeByte(offset + i, value);
    }
    return this;
  }

  /** A heap copy of [offset, offset+length). */
  public byte[] get(long offset, int length) {
    byte[] out = new byte[length];
    store.read(offset, out, 0, length);
    return out;
  }

  @Override
  public void close() {
    store.releaseLast();
  }
}
