package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.MemoryRegion;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;
import org.junit.jupiter.api.Test;

class ChunkMemoryTest {
  private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;

  @Test
  void chunksAreCacheLineAlignedZeroedAndFreeTheirOwnAllocation() {
    List<Long> handles = new ArrayList<>();
    // Odd sizes shift malloc's results around, so every offset 0..3 x 16 shows up.
    for (int i = 0; i < 200; i++) {
      int size = 4096 + 16 * (i % 7);
      long h = ChunkMemory.allocate(size);
      long a = ChunkMemory.address(h);
      assertThat(a % ChunkMemory.ALIGNMENT).as("address of handle %x", h).isZero();
      assertThat(h).isNotZero();
      for (int off = 0; off < size; off += 8) {
        assertThat(MEMORY.readLong(a + off)).isZero();
      }
      // The whole requested range is usable: write its last byte.
      MEMORY.writeByte(a + size - 1, (byte) 1);
      handles.add(h);
      handles.add((long) size);
    }
    // Freeing with the encoded offset must hand glibc its own pointers back (a wrong pointer
    // aborts the JVM with "free(): invalid pointer", so finishing is the check).
    for (int i = 0; i < handles.size(); i += 2) {
      ChunkMemory.free(handles.get(i), (int) (long) handles.get(i + 1));
    }
  }

  @Test
  void ramDiskReadsCopyFromAlignedChunks() throws Exception {
    try (RamDisk disk = RamDisk.create(1 << 20);
        MemoryRegion region = MemoryRegion.allocate(0, 8192)) {
      BytesStore<?, ?> buffer = region.store();
      assertThat(region.hostAddress() % 4096).as("allocated guest memory is page-aligned").isZero();
      for (int i = 0; i < 4096; i++) {
        buffer.writeByte(i, (byte) i);
      }
      disk.write(65536 + 512, buffer, 0, 4096);
      disk.read(65536 + 512, buffer, 4096, 4096);
      for (int i = 0; i < 4096; i++) {
        assertThat(buffer.readByte(4096 + i)).isEqualTo((byte) i);
      }
    }
  }
}
