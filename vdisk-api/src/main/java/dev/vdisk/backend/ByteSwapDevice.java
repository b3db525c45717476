package dev.vdisk.backend;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.backend.nativeio.DirectBuffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Swaps the two bytes of every 16-bit word on the way in and out, as ImDisk's byte-swap option does
 * (images taken from big-endian IDE adapters and some game consoles).
 *
 * <p>Reads swap in place in the caller's destination, which the read is allowed to fill anyway.
 * Writes never modify the caller's source: it is guest memory that the guest may be reading at the
 * same moment, it may be mapped read-only, and a failure half way through a swap-write-swap-back
 * would leave it corrupted. Instead each write is swapped into a bounded per-thread scratch buffer
 * ({@value #SCRATCH_SIZE} bytes, allocated once per thread and freed with it) and written from
 * there in pieces of at most that size. The price is one extra memory copy per written byte, which
 * is cheap next to the I/O; the pieces are block-aligned, and a multi-block write was never atomic.
 *
 * <p>Offsets and lengths must be even so that words pair up the same way on every request; vdisk's
 * front ends always send whole blocks.
 */
public final class ByteSwapDevice extends ForwardingBlockDevice {
  /** Scratch per writing thread; a multiple of every block size. */
  public static final int SCRATCH_SIZE = 64 * 1024;

  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final long LOW_BYTES = 0x00ff_00ff_00ff_00ffL;

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /** A direct buffer (freed by the GC with its thread) and a non-owning store over it. */
  private static final class Scratch {
    final ByteBuffer buffer = ByteBuffer.allocateDirect(SCRATCH_SIZE);
    final long address = DirectBuffers.address(buffer);
    final BytesStore<?, ?> store = BytesStore.wrap(address, SCRATCH_SIZE);
  }

  private ByteSwapDevice(BlockDevice inner) {
    super(inner);
  }

  /** Wraps {@code device}, which the wrapper then owns. */
  public static ByteSwapDevice of(BlockDevice device) {
    return new ByteSwapDevice(device);
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws IOException {
    Ranges.checkDiskAligned(offset, length, size(), 2);
    long address = Ranges.storeAddress(dst, dstOffset, length, offset);
    inner.read(offset, dst, dstOffset, length);
    swap(address, address, length);
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws IOException {
    Ranges.checkDiskAligned(offset, length, size(), 2);
    long address = Ranges.storeAddress(src, srcOffset, length, offset);
    Scratch scratch = SCRATCH.get();
    for (int done = 0; done < length; ) {
      int n = Math.min(SCRATCH_SIZE, length - done);
      swap(address + done, scratch.address, n);
      inner.write(offset + done, scratch.store, 0, n);
      done += n;
    }
  }

  /**
   * Copies {@code length} bytes (even) from {@code from} to {@code to} with the bytes of each
   * 16-bit word exchanged; {@code from == to} swaps in place. Eight bytes per step: the 16-bit
   * lanes of a 64-bit load are the byte pairs whatever the host's byte order.
   */
  static void swap(long from, long to, int length) {
    int i = 0;
    for (; i + 8 <= length; i += 8) {
      long v = MEMORY.readLong(from + i);
      MEMORY.writeLong(to + i, ((v >>> 8) & LOW_BYTES) | ((v & LOW_BYTES) << 8));
    }
    for (; i + 2 <= length; i += 2) {
      MEMORY.writeShort(to + i, Short.reverseBytes(MEMORY.readShort(from + i)));
    }
  }
}
