package dev.vdisk.remote.natives;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/** JNI-made direct buffers over foreign native memory, and the address of a direct buffer. */
public final class NativeBuffers {
  private NativeBuffers() {}

  public static ByteBuffer wrap(long address, int length) {
    return new Pointer(address).getByteBuffer(0, length);
  }

  /** The native address of a direct buffer's first byte. */
  public static long address(ByteBuffer direct) {
    if (!direct.isDirect()) {
      throw new IllegalArgumentException("not a direct buffer");
    }
    return Pointer.nativeValue(Native.getDirectBufferPointer(direct));
  }
}
