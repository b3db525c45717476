package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.testkit.BlockDeviceContractTest;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class RamDiskTest {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  @Nested
  class Contract512 extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      return RamDisk.create(4 * MIB);
    }
  }

  @Nested
  class Contract4096SmallChunks extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      return RamDisk.create(3 * MIB, 4096, 8192);
    }
  }

  @Nested
  class Contract2048NotChunkAligned extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      // Size ends in the middle of a chunk: the last chunk is partial.
      return RamDisk.create(2 * MIB + 6 * 2048, 2048);
    }
  }

  @Test
  void sixtyFourGibSparseDiskWithScatteredWritesStaysSmallInMemory() throws IOException {
    long before = residentBytes();
    try (RamDisk disk = RamDisk.create(64 * GIB);
        NativeBuffer io = new NativeBuffer(4096)) {
      Random random = new Random(64);
      int writes = 1500;
      java.util.Map<Long, Byte> last = new java.util.HashMap<>();
      for (int i = 0; i < writes; i++) {
        long offset = (long) (random.nextDouble() * (64 * GIB / 4096)) * 4096;
        byte value = (byte) (1 + i % 250);
        io.fill(0, 4096, value);
        disk.write(offset, io.store(), 0, 4096);
        last.put(offset, value);
      }
      // Reading untouched places allocates nothing.
      long allocated = disk.allocatedBytes();
      for (int i = 0; i < 100; i++) {
        disk.read(64 * GIB - 4096 - i * 7 * MIB, io.store(), 0, 4096);
      }
      assertThat(disk.allocatedBytes()).isEqualTo(allocated);
      assertThat(allocated).isBetween(1L, writes * (long) RamDisk.DEFAULT_CHUNK_SIZE);
      long grown = residentBytes() - before;
      System.out.printf(
          "64 GiB RAM disk, %d scattered 4 KiB writes: %d MiB in chunks, RSS grew %d MiB%n",
          writes, allocated >> 20, grown >> 20);
      assertThat(grown).as("resident set growth in bytes").isLessThan(300 * MIB);
      for (java.util.Map.Entry<Long, Byte> e : last.entrySet()) {
        disk.read(e.getKey(), io.store(), 0, 4096);
        assertThat(io.get(0, 4096)).as("block at %d", e.getKey()).containsOnly(e.getValue());
      }
    }
  }

  /** VmRSS of this process, from /proc/self/status. */
  static long residentBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.trim().split("\\s+");
        assertThat(parts[2]).as("VmRSS unit").isEqualTo("kB");
        return Long.parseLong(parts[1]) * 1024;
      }
    }
    throw new AssertionError("no VmRSS line in /proc/self/status");
  }

  @Test
  void discardOfWholeChunksReleasesThemAndPartialDiscardZeroes() throws IOException {
    int chunk = RamDisk.DEFAULT_CHUNK_SIZE;
    try (RamDisk disk = RamDisk.create(16L * chunk);
        NativeBuffer io = new NativeBuffer(4L * chunk)) {
      io.fill(0, 4 * chunk, (byte) 0x33);
      disk.write(0, io.store(), 0, 4 * chunk);
      assertThat(disk.allocatedBytes()).isEqualTo(4L * chunk);
      assertThat(disk.extent(0, 16L * chunk)).isEqualTo(4L * chunk);

      disk.discard(chunk, 2L * chunk); // chunks 1 and 2 whole
      assertThat(disk.allocatedBytes()).isEqualTo(2L * chunk);
      assertThat(disk.extent(chunk, 16L * chunk)).isEqualTo(-2L * chunk);

      disk.discard(3L * chunk + 512, 1024); // inside chunk 3: zeroed, kept
      assertThat(disk.allocatedBytes()).isEqualTo(2L * chunk);
      disk.read(3L * chunk, io.store(), 0, 2048);
      byte[] head = io.get(0, 2048);
      assertThat(head).startsWith(new byte[] {0x33}).contains((byte) 0);
      assertThat(java.util.Arrays.copyOfRange(head, 512, 1536)).containsOnly((byte) 0);
      assertThat(java.util.Arrays.copyOfRange(head, 1536, 2048)).containsOnly((byte) 0x33);

      disk.writeZeroes(0, chunk, false); // without unmap: zeroed, not freed
      assertThat(disk.allocatedBytes()).isEqualTo(2L * chunk);
      disk.writeZeroes(0, chunk, true); // with unmap: freed
      assertThat(disk.allocatedBytes()).isEqualTo(1L * chunk);
    }
  }

  @Test
  void resizeNotifiesListenersAndKeepsOrZeroesData() throws IOException {
    try (RamDisk disk = RamDisk.create(4 * MIB);
        NativeBuffer io = new NativeBuffer(4096)) {
      AtomicLong seen = new AtomicLong();
      List<BlockDevice> from = new ArrayList<>();
      disk.addSizeListener(
          (device, newSize) -> {
            seen.set(newSize);
            from.add(device);
          });
      io.fill(0, 4096, (byte) 9);
      disk.write(MIB, io.store(), 0, 4096);
      disk.write(3 * MIB, io.store(), 0, 4096);

      disk.resize(8 * MIB);
      assertThat(seen.get()).isEqualTo(8 * MIB);
      assertThat(from).containsExactly(disk);
      assertThat(disk.size()).isEqualTo(8 * MIB);
      disk.read(7 * MIB, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).containsOnly((byte) 0);

      disk.resize(2 * MIB); // drops the chunk at 3 MiB
      assertThat(seen.get()).isEqualTo(2 * MIB);
      assertThatThrownBy(() -> disk.read(3 * MIB, io.store(), 0, 4096))
          .hasMessageContaining("OUT_OF_RANGE");
      disk.resize(4 * MIB); // grows back: the dropped data is gone
      disk.read(3 * MIB, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).containsOnly((byte) 0);
      disk.read(MIB, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).containsOnly((byte) 9);
      assertThat(disk.allocatedBytes()).isEqualTo(RamDisk.DEFAULT_CHUNK_SIZE);
    }
  }

  @Test
  void shrinkingInsideAChunkZeroesTheCutOffTail() throws IOException {
    try (RamDisk disk = RamDisk.create(2L * RamDisk.DEFAULT_CHUNK_SIZE);
        NativeBuffer io = new NativeBuffer(1024)) {
      io.fill(0, 1024, (byte) 5);
      disk.write(4096, io.store(), 0, 1024);
      disk.resize(4096);
      disk.resize(8192);
      disk.read(4096, io.store(), 0, 1024);
      assertThat(io.get(0, 1024)).containsOnly((byte) 0);
    }
  }

  @Test
  void badConfigurationFailsAtConstructionNamingTheValue() {
    assertThatThrownBy(() -> RamDisk.create(-512))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-512")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> RamDisk.create(1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1000")
        .hasMessageContaining("multiple of block size 512");
    assertThatThrownBy(() -> RamDisk.create(MIB, 1024))
        .hasMessageContaining("block size 1024")
        .hasMessageContaining("expected 512, 2048 or 4096");
    assertThatThrownBy(() -> RamDisk.create(MIB, 4096, 2048))
        .hasMessageContaining("chunk size 2048")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> RamDisk.create(MIB, 512, 3000)).hasMessageContaining("power of two");
    try (RamDisk disk = RamDisk.create(MIB)) {
      assertThatThrownBy(() -> disk.resize(777)).hasMessageContaining("777");
    }
  }

  @Test
  void resizeAfterCloseIsRefused() {
    RamDisk disk = RamDisk.create(MIB);
    disk.close();
    assertThatThrownBy(() -> disk.resize(2 * MIB)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void extentWithHugeMaxLengthDoesNotOverflow() throws IOException {
    try (RamDisk disk = RamDisk.create(4 * MIB);
        NativeBuffer io = new NativeBuffer(512)) {
      assertThat(disk.extent(MIB, Long.MAX_VALUE)).isEqualTo(-3 * MIB);
      disk.write(MIB, io.store(), 0, 512);
      assertThat(disk.extent(MIB, Long.MAX_VALUE)).isEqualTo(RamDisk.DEFAULT_CHUNK_SIZE);
    }
  }
}
