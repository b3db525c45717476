package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;

class WriteBehindTest {
  private static final int CHUNK = 1 << 20;

  @Test
  void onceEightChunksAreBehindTheOldestLeavesThePageCacheWithItsDataIntact() throws Exception {
    // On the project's own disk, not a tmpfs /tmp: tmpfs pages cannot be dropped.
    Path home = Files.createDirectories(Path.of("target", "write-behind-test"));
    Path p = home.resolve("copy.img");
    Files.deleteIfExists(p);
    int chunks = WriteBehind.WINDOWS + 2;
    BytesStore<?, Void> buf = BytesStore.nativeStoreWithFixedCapacity(CHUNK);
    try (FileDisk disk = FileDisk.create(p, (long) chunks * CHUNK, 512);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      WriteBehind wb = WriteBehind.forDestination(disk);
      assertThat(wb).isNotNull();
      for (int i = 0; i < chunks; i++) {
        for (int off = 0; off < CHUNK; off += 8) {
          buf.writeLong(off, i * 0x0101_0101_0101_0101L + off);
        }
        disk.write((long) i * CHUNK, buf, 0, CHUNK);
        wb.written((long) i * CHUNK, CHUNK);
      }
      // mincore(2) through isLoaded(): mapping alone does not fault pages in.
      for (int i = 0; i < chunks; i++) {
        MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, (long) i * CHUNK, CHUNK);
        assertThat(m.isLoaded())
            .as("chunk %d of %d cached", i, chunks)
            .isEqualTo(i >= chunks - WriteBehind.WINDOWS);
      }
      for (int i = 0; i < chunks; i++) {
        disk.read((long) i * CHUNK, buf, 0, CHUNK);
        for (int off = 0; off < CHUNK; off += 4096) {
          assertThat(buf.readLong(off)).isEqualTo(i * 0x0101_0101_0101_0101L + off);
        }
      }
    } finally {
      buf.releaseLast();
      Files.deleteIfExists(p);
    }
  }

  @Test
  void onlyAWritableImageFileGetsOne() throws Exception {
    Path p = Files.createDirectories(Path.of("target", "write-behind-test")).resolve("ro.img");
    Files.deleteIfExists(p);
    try (RamDisk ram = RamDisk.create(CHUNK);
        FileDisk file = FileDisk.create(p, CHUNK, 512);
        BlockDevice readOnly = ReadOnlyDevice.of(FileDisk.open(p, false))) {
      assertThat(WriteBehind.forDestination(ram)).isNull();
      assertThat(WriteBehind.forDestination(readOnly)).isNull();
      WriteBehind wb = WriteBehind.forDestination(file);
      assertThat(wb).isNotNull();
      // A range the image does not hold is the copy's error, not something skipped.
      assertThatThrownBy(() -> wb.written(CHUNK, 512))
          .isInstanceOf(BlockDeviceException.class)
          .hasMessageContaining(String.valueOf(CHUNK));
    } finally {
      Files.deleteIfExists(p);
    }
  }
}
