package dev.vdisk.virtio.queue;

import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Little-endian accessors on raw host addresses: the one class in this module that names the raw
 * memory API.
 *
 * <p>Callers pass only addresses they derived from a range that {@link dev.vdisk.api.GuestMemory}
 * already bounds-checked (a ring translated once at activation, a descriptor buffer looked up with
 * {@code regionIndex}). Nothing here checks anything: that is the point, it is the hot path.
 *
 * <p>Memory-order prefixes follow JCTools: {@code lv} load-acquire, {@code so} store-release, no
 * prefix = plain. 16-bit ring fields are aligned (checked at activation), so each access is a
 * single untorn load or store.
 */
public final class HostMemory {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
  private static final boolean BIG_ENDIAN_HOST = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;

  private HostMemory() {}

  public static int u8(long address) {
    return MEMORY.readByte(address) & 0xff;
  }

  public static int u16(long address) {
    short v = MEMORY.readShort(address);
    return (BIG_ENDIAN_HOST ? Short.reverseBytes(v) : v) & 0xffff;
  }

  /** 16-bit load followed by an acquire fence: later loads cannot float above it. */
  public static int lvU16(long address) {
    int v = u16(address);
    VarHandle.acquireFence();
    return v;
  }

  public static long u32(long address) {
    int v = MEMORY.readInt(address);
    return (BIG_ENDIAN_HOST ? Integer.reverseBytes(v) : v) & 0xffff_ffffL;
  }

  public static long u64(long address) {
    long v = MEMORY.readLong(address);
    return BIG_ENDIAN_HOST ? Long.reverseBytes(v) : v;
  }

  public static void putU8(long address, int value) {
    MEMORY.writeByte(address, (byte) value);
  }

  public static void putU16(long address, int value) {
    short v = (short) value;
    MEMORY.writeShort(address, BIG_ENDIAN_HOST ? Short.reverseBytes(v) : v);
  }

  /** Release fence then a 16-bit store: every earlier store is visible before this one. */
  public static void soU16(long address, int value) {
    VarHandle.releaseFence();
    putU16(address, value);
  }

  public static void putU32(long address, long value) {
    int v = (int) value;
    MEMORY.writeInt(address, BIG_ENDIAN_HOST ? Integer.reverseBytes(v) : v);
  }

  public static void putU64(long address, long value) {
    MEMORY.writeLong(address, BIG_ENDIAN_HOST ? Long.reverseBytes(value) : value);
  }

  /** Copies {@code length} bytes between two host ranges the caller checked. */
  public static void copy(long from, long to, long length) {
    MEMORY.copyMemory(from, to, length);
  }

  /** Copies from a heap array to a host range the caller checked. */
  public static void copy(byte[] from, int fromOffset, long to, int length) {
    MEMORY.copyMemory(from, fromOffset, to, length);
  }

  /** Copies from a host range the caller checked to a heap array. */
  public static void copy(long from, byte[] to, int toOffset, int length) {
    MEMORY.readBytes(from, to, toOffset, length);
  }

  public static void fill(long address, long length, byte value) {
    MEMORY.setMemory(address, length, value);
  }

  /** Store-load barrier (the virtio "full memory barrier" around event-index checks). */
  public static void fullFence() {
    VarHandle.fullFence();
  }
}
