package dev.vdisk.remote.io;

import dev.vdisk.remote.natives.NativeBuffers;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * A direct {@link ByteBuffer} that can be pointed at any range of native memory (a guest memory
 * region's store, an I/O buffer), so socket channels read and write straight into a {@link
 * BytesStore} with no copy and no per-request allocation.
 *
 * <p>Retargeting writes the buffer's private {@code address} and {@code capacity} fields; that
 * needs {@code --add-opens java.base/java.nio=ALL-UNNAMED} (in vdisk's launcher and test flags) and
 * a JDK where those fields are not final (17..24). Otherwise each call falls back to a fresh
 * JNI-made buffer over the same memory (one small allocation per call, still no copy). One view
 * belongs to one thread at a time.
 */
public final class NativeView {
  private static final VarHandle ADDRESS;
  private static final VarHandle CAPACITY;

  static {
    VarHandle a = null;
    VarHandle c = null;
    try {
      MethodHandles.Lookup l = MethodHandles.privateLookupIn(Buffer.class, MethodHandles.lookup());
      a = l.findVarHandle(Buffer.class, "address", long.class);
      c = l.findVarHandle(Buffer.class, "capacity", int.class);
      // Prove both work on this JVM before trusting them: JDK 25 made Buffer.capacity final, so
      // its VarHandle is read-only there and set() throws UnsupportedOperationException.
      ByteBuffer probe = ByteBuffer.allocateDirect(16);
      a.set(probe, (long) a.get(probe));
      c.set(probe, (int) c.get(probe));
    } catch (ReflectiveOperationException | RuntimeException e) {
      a = null;
      c = null;
    }
    ADDRESS = a;
    CAPACITY = c;
  }

  // Never read or written through its own allocation: it only lends its object header.
  private final ByteBuffer view = ADDRESS == null ? null : ByteBuffer.allocateDirect(0);

  /** True when views are retargeted in place (no allocation per call). */
  public static boolean isZeroAllocation() {
    return ADDRESS != null;
  }

  /**
   * A buffer over {@code length} bytes of {@code store} from {@code offset}, position 0, limit
   * {@code length}. The caller has checked the range against the store.
   */
  public ByteBuffer of(BytesStore<?, ?> store, long offset, int length) {
    return at(store.addressForWrite(offset), length);
  }

  /** A buffer over {@code length} bytes at native {@code address}. */
  public ByteBuffer at(long address, int length) {
    if (view == null) {
      return NativeBuffers.wrap(address, length);
    }
    ADDRESS.set(view, address);
    CAPACITY.set(view, length);
    view.limit(length).position(0);
    return view;
  }

  /** Checks that {@code [offset, offset + length)} lies in a native store. */
  public static boolean fits(BytesStore<?, ?> store, long offset, long length) {
    return store != null
        && store.isDirectMemory()
        && offset >= 0
        && length >= 0
        && length <= store.realCapacity() - offset;
  }
}
