package dev.vdisk.remote.natives;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/** JNI-made direct buffers over foreign native memory (fallback when views cannot be reused). */
public final class NativeBuffers {
  private NativeBuffers() {}

  public static ByteBuffer wrap(long address, int length) {
    return new Pointer(address).getByteBuffer(0, length);
  }
}
