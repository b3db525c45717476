package dev.vdisk.backend.nativeio;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Direct {@link ByteBuffer} views over off-heap memory, so that NIO channels (files, sockets) read
 * and write guest memory in place, with no heap copy.
 *
 * <p>The fast path allocates nothing: each thread owns one direct buffer of maximal capacity whose
 * {@code address} field is re-pointed for each call (the JDK's own I/O reads only address, position
 * and limit of a direct buffer). That needs {@code --add-opens java.base/java.nio=ALL-UNNAMED},
 * which vdisk's launchers and test configuration pass. Without it, each call makes a fresh view
 * through JNI (correct, one small allocation per call); {@link #isZeroAllocation()} says which path
 * is in use.
 */
public final class DirectBuffers {
  private static final Logger LOG = LoggerFactory.getLogger(DirectBuffers.class);

  /** {@code java.nio.Buffer.address}, or null when the module system keeps it closed. */
  private static final VarHandle ADDRESS = addressHandle();

  private static final ThreadLocal<ByteBuffer> VIEW =
      ThreadLocal.withInitial(DirectBuffers::newTemplate);

  private DirectBuffers() {}

  /**
   * A direct buffer over [address, address+length) with position 0 and limit {@code length}. On the
   * fast path the buffer is this thread's single view: it is valid until this thread's next call,
   * must not escape the thread, and must not be kept. The caller has already checked the range
   * (this method cannot).
   */
  public static ByteBuffer view(long address, int length) {
    if (length < 0) {
      throw new IllegalArgumentException("length " + length + " (expected >= 0)");
    }
    if (ADDRESS == null) {
      return new Pointer(address).getByteBuffer(0, length);
    }
    ByteBuffer b = VIEW.get();
    ADDRESS.set(b, address);
    b.clear();
    b.limit(length);
    return b;
  }

  /** Host address of a direct buffer's first byte. */
  public static long address(ByteBuffer direct) {
    if (!direct.isDirect()) {
      throw new IllegalArgumentException("buffer is not direct");
    }
    return Pointer.nativeValue(Native.getDirectBufferPointer(direct));
  }

  /** True when {@link #view} re-points a per-thread buffer instead of allocating one per call. */
  public static boolean isZeroAllocation() {
    return ADDRESS != null;
  }

  private static ByteBuffer newTemplate() {
    // JNI NewDirectByteBuffer: no cleaner, capacity as large as a buffer can be; every use sets
    // address and limit first, so the placeholder address is never touched.
    return new Pointer(1).getByteBuffer(0, Integer.MAX_VALUE).order(ByteOrder.nativeOrder());
  }

  private static VarHandle addressHandle() {
    try {
      VarHandle h =
          MethodHandles.privateLookupIn(Buffer.class, MethodHandles.lookup())
              .findVarHandle(Buffer.class, "address", long.class);
      if (selfTest(h)) {
        return h;
      }
      LOG.warn("re-pointed direct buffers do not work on this JVM; using one view per I/O");
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.info(
          "java.nio is not open to vdisk ({}); file I/O makes one small buffer per request."
              + " Add --add-opens java.base/java.nio=ALL-UNNAMED to avoid it.",
          e.toString());
    }
    return null;
  }

  /** Re-points a template at a real buffer and checks that writes land there. */
  private static boolean selfTest(VarHandle h) {
    ByteBuffer real = ByteBuffer.allocateDirect(16);
    ByteBuffer view = newTemplate();
    h.set(view, address(real));
    view.clear();
    view.limit(16);
    view.putLong(8, 0x0123_4567_89ab_cdefL);
    real.order(ByteOrder.nativeOrder());
    return real.getLong(8) == 0x0123_4567_89ab_cdefL && view.remaining() == 16;
  }
}
