package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.testkit.BlockDeviceContractTest;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WindowDeviceTest {
  private static final long MIB = 1L << 20;

  @TempDir Path dir;

  @Nested
  class OverRamDiskContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      return WindowDevice.of(RamDisk.create(4 * MIB), MIB, 2 * MIB);
    }
  }

  @Nested
  class ToTheEndOfAFileContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() throws IOException {
      return WindowDevice.of(FileDisk.create(dir.resolve("w.img"), 3 * MIB, 512), 512, -1);
    }
  }

  @Test
  void windowBytesLandAtTheImageOffsetAndNowhereElse() throws IOException {
    RamDisk inner = RamDisk.create(4 * MIB);
    try (BlockDevice window = WindowDevice.of(inner, MIB, MIB);
        NativeBuffer io = new NativeBuffer(4096)) {
      assertThat(window.size()).isEqualTo(MIB);
      io.fill(0, 4096, (byte) 0x42);
      window.write(0, io.store(), 0, 4096);
      window.write(MIB - 4096, io.store(), 0, 4096);
      inner.read(MIB, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).containsOnly((byte) 0x42);
      inner.read(2 * MIB - 4096, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).containsOnly((byte) 0x42);
      inner.read(MIB - 4096, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).as("just before the window").containsOnly((byte) 0);
      inner.read(2 * MIB, io.store(), 0, 4096);
      assertThat(io.get(0, 4096)).as("just after the window").containsOnly((byte) 0);
      assertThat(inner.allocatedBytes()).isEqualTo(2L * RamDisk.DEFAULT_CHUNK_SIZE);
      assertThat(window.extent(0, 4 * MIB)).isEqualTo(RamDisk.DEFAULT_CHUNK_SIZE);
    }
  }

  @Test
  void badWindowsFailAtConstructionNamingTheValue() {
    try (RamDisk inner = RamDisk.create(4 * MIB)) {
      assertThatThrownBy(() -> WindowDevice.of(inner, 100, MIB))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("window offset 100")
          .hasMessageContaining("multiple of the block size 512");
      assertThatThrownBy(() -> WindowDevice.of(inner, -512, MIB))
          .hasMessageContaining("window offset -512");
      assertThatThrownBy(() -> WindowDevice.of(inner, 4 * MIB, -1))
          .hasMessageContaining("window offset " + 4 * MIB)
          .hasMessageContaining("expected < the device size");
      assertThatThrownBy(() -> WindowDevice.of(inner, 0, 1000))
          .hasMessageContaining("window length 1000");
      assertThatThrownBy(() -> WindowDevice.of(inner, 0, 0)).hasMessageContaining("length 0");
      assertThatThrownBy(() -> WindowDevice.of(inner, 3 * MIB, 2 * MIB))
          .hasMessageContaining("expected to fit inside the device of " + 4 * MIB);
      assertThatThrownBy(() -> WindowDevice.of(inner, 512, Long.MAX_VALUE - 511))
          .hasMessageContaining("window [512, +" + (Long.MAX_VALUE - 511))
          .hasMessageContaining("expected to fit inside the device");
    }
  }

  @Test
  void aWindowToTheEndFollowsResizesAndTellsItsListeners() throws IOException {
    RamDisk inner = RamDisk.create(4 * MIB);
    try (BlockDevice window = WindowDevice.of(inner, MIB, -1)) {
      AtomicLong seen = new AtomicLong();
      window.addSizeListener((device, newSize) -> seen.set(newSize));
      inner.resize(8 * MIB);
      assertThat(window.size()).isEqualTo(7 * MIB);
      assertThat(seen.get()).isEqualTo(7 * MIB);
      assertThat(window.geometry().chsSectors()).isLessThanOrEqualTo(7 * MIB / 512);
    }
  }

  @Test
  void aFixedWindowKeepsItsSize() throws IOException {
    RamDisk inner = RamDisk.create(4 * MIB);
    try (BlockDevice window = WindowDevice.of(inner, MIB, MIB)) {
      inner.resize(8 * MIB);
      assertThat(window.size()).isEqualTo(MIB);
    }
  }
}
