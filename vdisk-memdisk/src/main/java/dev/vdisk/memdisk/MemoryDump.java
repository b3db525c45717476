package dev.vdisk.memdisk;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.memdisk.posix.PosixMmap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Loads a raw physical-memory dump (QEMU {@code pmemsave}, {@code /dev/mem} copies) as a {@link
 * GuestMemory} whose first byte is guest address {@code base}. The file is memory-mapped, never
 * read into the heap, so probing a multi-GiB dump costs only the pages the probe touches.
 *
 * <p>The returned memory owns the mapping: close it after every device opened over it. The file
 * must not be truncated while mapped (the OS would fault on the missing pages).
 */
public final class MemoryDump {
  /** Chunk size of the fallback mapping (FileChannel.map maps at most 2 GiB at a time). */
  private static final long FALLBACK_CHUNK = 1L << 30;

  private static final int ELF_MAGIC = 0x464C457F; // "\x7FELF" little-endian

  private MemoryDump() {}

  /** Maps {@code file} read-only at guest address {@code base}. */
  public static GuestMemory open(Path file, long base) throws IOException {
    return open(file, base, false);
  }

  /** Maps {@code file} at {@code base}; writable maps it shared, so writes reach the file. */
  public static GuestMemory open(Path file, long base, boolean writable) throws IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "no such file");
    }
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + " is not a regular file");
    }
    if (size == 0) {
      throw new IOException(file + " is empty (expected a raw physical-memory dump)");
    }
    if (Long.compareUnsigned(base + size - 1, base) < 0) {
      throw new IllegalArgumentException(
          String.format("dump of %d bytes at base 0x%x runs past 2^64", size, base));
    }
    if (PosixMmap.available()) {
      PosixMmap.Mapping m = PosixMmap.map(file, size, writable);
      return GuestMemory.of(MemoryRegion.wrap(base, m.address(), size, writable, m::unmap));
    }
    return mapWithChannel(file, base, size, writable);
  }

  /**
   * True when the file starts like an ELF core ({@code dump-guest-memory} without {@code -p} or
   * with it: both write ELF), not a raw dump; the CLI warns about it.
   */
  public static boolean looksLikeElf(GuestMemory memory) {
    long base = memory.region(0).guestBase();
    return Bounds.mapped(memory, base, 4) && memory.u32(base) == (ELF_MAGIC & 0xFFFFFFFFL);
  }

  private static GuestMemory mapWithChannel(Path file, long base, long size, boolean writable)
      throws IOException {
    List<MemoryRegion> regions = new ArrayList<>();
    try (FileChannel ch =
        writable
            ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
            : FileChannel.open(file, StandardOpenOption.READ)) {
      for (long off = 0; off < size; off += FALLBACK_CHUNK) {
        long n = Math.min(FALLBACK_CHUNK, size - off);
        MappedByteBuffer buf =
            ch.map(
                writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, off, n);
        BytesStore<?, ByteBuffer> store = BytesStore.wrap((ByteBuffer) buf);
        regions.add(MemoryRegion.of(base + off, store, writable));
      }
    }
    return GuestMemory.of(regions);
  }
}
