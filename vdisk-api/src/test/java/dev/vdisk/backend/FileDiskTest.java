package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import dev.vdisk.backend.nativeio.DirectBuffers;
import dev.vdisk.backend.nativeio.LinuxFiles;
import dev.vdisk.testkit.BlockDeviceContractTest;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDiskTest {
  private static final long MIB = 1L << 20;

  @TempDir Path dir;

  @Nested
  class NewSparseImageContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() throws IOException {
      return FileDisk.create(dir.resolve("new.img"), 4 * MIB, 512);
    }
  }

  @Nested
  class FourKBlocksContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() throws IOException {
      return FileDisk.create(dir.resolve("4k.img"), 2 * MIB, 4096);
    }
  }

  @Nested
  class ReadOnlyImageContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() throws IOException {
      Path p = dir.resolve("ro.img");
      try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
        f.setLength(2 * MIB);
      }
      return FileDisk.open(p, true);
    }
  }

  @Test
  void nativeCallsAndZeroCopyViewsAreInUseOnThisMachine() {
    // The rest of this class would pass on the Java fallbacks too; make sure the fast paths the
    // product relies on are the ones being tested here (Linux, java.nio opened by the test flags).
    assertThat(LinuxFiles.isAvailable()).as("JNA libc calls").isTrue();
    assertThat(DirectBuffers.isZeroAllocation()).as("re-pointed direct buffer views").isTrue();
  }

  @Test
  void dataWrittenAndFlushedSurvivesReopen() throws IOException {
    Path p = dir.resolve("persist.img");
    byte[] data = new byte[64 * 1024];
    new Random(7).nextBytes(data);
    try (FileDisk disk = FileDisk.create(p, 8 * MIB, 512);
        NativeBuffer io = new NativeBuffer(data.length)) {
      io.put(0, data);
      disk.write(3 * MIB, io.store(), 0, data.length);
      disk.write(8 * MIB - 512, io.store(), 0, 512);
      disk.flush();
    }
    try (FileDisk disk = FileDisk.open(p, true);
        NativeBuffer io = new NativeBuffer(data.length)) {
      assertThat(disk.size()).isEqualTo(8 * MIB);
      assertThat(disk.isReadOnly()).isTrue();
      disk.read(3 * MIB, io.store(), 0, data.length);
      assertThat(io.get(0, data.length)).isEqualTo(data);
      disk.read(8 * MIB - 512, io.store(), 0, 512);
      assertThat(io.get(0, 512)).isEqualTo(java.util.Arrays.copyOf(data, 512));
      BlockDeviceException e =
          org.assertj.core.api.Assertions.catchThrowableOfType(
              BlockDeviceException.class, () -> disk.write(0, io.store(), 0, 512));
      assertThat(e.reason()).isEqualTo(Reason.READ_ONLY);
    }
    // The bytes are really in the file, where another program would look.
    byte[] raw = Files.readAllBytes(p);
    assertThat(java.util.Arrays.copyOfRange(raw, (int) (3 * MIB), (int) (3 * MIB) + data.length))
        .isEqualTo(data);
  }

  @Test
  void dropWrittenTakesTheRangeOutOfThePageCacheAndKeepsTheData() throws IOException {
    // On the project's own disk, not a tmpfs /tmp: tmpfs pages cannot be dropped.
    Path home = Files.createDirectories(Path.of("target", "writeback-test"));
    Path p = home.resolve("drop.img");
    Files.deleteIfExists(p);
    byte[] data = new byte[(int) MIB];
    new Random(11).nextBytes(data);
    try (FileDisk disk = FileDisk.create(p, 4 * MIB, 512);
        NativeBuffer io = new NativeBuffer(data.length);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      assertThat(disk.controlsWriteback()).isTrue();
      io.put(0, data);
      disk.write(MIB, io.store(), 0, data.length);
      disk.write(2 * MIB, io.store(), 0, data.length);
      // isLoaded() asks mincore(2) whether every page of the mapping is in the page cache;
      // mapping alone does not fault pages in.
      MappedByteBuffer first = ch.map(FileChannel.MapMode.READ_ONLY, MIB, MIB);
      MappedByteBuffer second = ch.map(FileChannel.MapMode.READ_ONLY, 2 * MIB, MIB);
      assertThat(first.isLoaded()).as("freshly written pages are cached").isTrue();

      disk.startWriteback(2 * MIB, MIB);
      disk.dropWritten(MIB, MIB);

      assertThat(first.isLoaded()).as("dropped range").isFalse();
      assertThat(second.isLoaded()).as("a range only started is still cached").isTrue();
      io.put(0, new byte[data.length]);
      disk.read(MIB, io.store(), 0, data.length);
      assertThat(io.get(0, data.length)).isEqualTo(data);
    } finally {
      Files.deleteIfExists(p);
    }
  }

  @Test
  void writebackControlChecksTheRangeAndIsANoOpOnReadOnlyImages() throws IOException {
    Path p = dir.resolve("wb.img");
    try (FileDisk disk = FileDisk.create(p, MIB, 512)) {
      BlockDeviceException outside =
          org.assertj.core.api.Assertions.catchThrowableOfType(
              BlockDeviceException.class, () -> disk.dropWritten(MIB - 512, 1024));
      assertThat(outside.reason()).isEqualTo(Reason.OUT_OF_RANGE);
      assertThat(outside).hasMessageContaining(String.valueOf(MIB));
      BlockDeviceException negative =
          org.assertj.core.api.Assertions.catchThrowableOfType(
              BlockDeviceException.class, () -> disk.startWriteback(-512, 512));
      assertThat(negative.reason()).isEqualTo(Reason.OUT_OF_RANGE);
      disk.startWriteback(0, 0); // empty: nothing to do (0 would mean "to the end" to the kernel)
    }
    try (FileDisk ro = FileDisk.open(p, true)) {
      assertThat(ro.controlsWriteback()).isFalse();
      ro.dropWritten(0, MIB);
    }
    FileDisk closed = FileDisk.open(p, false);
    closed.close();
    BlockDeviceException afterClose =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            BlockDeviceException.class, () -> closed.startWriteback(0, 512));
    assertThat(afterClose.reason()).isEqualTo(Reason.IO_ERROR);
    assertThat(afterClose).hasMessageContaining("closed");
  }

  @Test
  void newImageIsSparseAndDiscardPunchesHolesBackIn() throws IOException {
    Path p = dir.resolve("sparse.img");
    try (FileDisk disk = FileDisk.create(p, 64 * MIB, 512);
        NativeBuffer io = new NativeBuffer(MIB)) {
      assertThat(disk.extent(0, disk.size())).as("fresh image is one hole").isEqualTo(-64 * MIB);
      io.fill(0, (int) MIB, (byte) 1);
      disk.write(16 * MIB, io.store(), 0, (int) MIB);
      assertThat(disk.extent(0, disk.size())).isEqualTo(-16 * MIB);
      assertThat(disk.extent(16 * MIB, disk.size())).isEqualTo(MIB);
      assertThat(disk.extent(17 * MIB, disk.size())).isEqualTo(-47 * MIB);
      assertThat(disk.capabilities().writeZeroesMayUnmap()).isTrue();

      disk.discard(16 * MIB, MIB);
      assertThat(disk.extent(0, disk.size())).as("after discard").isEqualTo(-64 * MIB);
      disk.read(16 * MIB, io.store(), 0, (int) MIB);
      assertThat(io.get(0, (int) MIB)).containsOnly((byte) 0);

      // Write-zeroes without unmap keeps the range readable as zeroes too.
      io.fill(0, (int) MIB, (byte) 2);
      disk.write(20 * MIB, io.store(), 0, (int) MIB);
      disk.writeZeroes(20 * MIB, MIB, false);
      disk.read(20 * MIB, io.store(), 0, (int) MIB);
      assertThat(io.get(0, (int) MIB)).containsOnly((byte) 0);
    }
    assertThat(Files.size(p)).as("KEEP_SIZE: the image keeps its size").isEqualTo(64 * MIB);
  }

  @Test
  void imageSizeMustBeAMultipleOfTheBlockSize() throws IOException {
    Path p = dir.resolve("odd.img");
    Files.write(p, new byte[1000]);
    assertThatThrownBy(() -> FileDisk.open(p, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1000 bytes")
        .hasMessageContaining("expected a positive multiple of the block size 512");
    Path q = dir.resolve("k.img");
    Files.write(q, new byte[2048 + 512]);
    assertThatThrownBy(() -> FileDisk.open(q, false, 2048))
        .hasMessageContaining("2560 bytes")
        .hasMessageContaining("block size 2048");
    Path empty = dir.resolve("empty.img");
    Files.write(empty, new byte[0]);
    assertThatThrownBy(() -> FileDisk.open(empty, true)).hasMessageContaining("0 bytes");
  }

  @Test
  void creationRefusesBadSizesAndExistingFiles() throws IOException {
    assertThatThrownBy(() -> FileDisk.create(dir.resolve("a.img"), -4096, 512))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-4096")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> FileDisk.create(dir.resolve("b.img"), 4097, 512))
        .hasMessageContaining("4097");
    assertThatThrownBy(() -> FileDisk.create(dir.resolve("c.img"), 4096, 1000))
        .hasMessageContaining("block size 1000");
    assertThat(dir.resolve("a.img")).doesNotExist();
    Path existing = dir.resolve("keep.img");
    Files.write(existing, new byte[4096]);
    assertThatThrownBy(() -> FileDisk.create(existing, 8192, 512))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(Files.size(existing)).isEqualTo(4096);
    assertThatThrownBy(() -> FileDisk.open(dir.resolve("missing.img"), false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("missing.img");
  }

  @Test
  void geometryComesFromTheImage() throws IOException {
    Path floppy = dir.resolve("floppy.img");
    try (RandomAccessFile f = new RandomAccessFile(floppy.toFile(), "rw")) {
      f.setLength(1440 * 1024);
    }
    try (FileDisk disk = FileDisk.open(floppy, true)) {
      assertThat(disk.geometry()).isEqualTo(new Geometry(80, 2, 18, 512));
    }
    Path mbr = dir.resolve("mbr.img");
    byte[] sector = new byte[512];
    // One partition ending at CHS (c, head 15, sector 32): a 16-head, 32-sector disk.
    sector[446 + 4] = 0x0c;
    sector[446 + 5] = 15;
    sector[446 + 6] = 32;
    sector[446 + 7] = 100;
    sector[510] = 0x55;
    sector[511] = (byte) 0xaa;
    try (RandomAccessFile f = new RandomAccessFile(mbr.toFile(), "rw")) {
      f.setLength(16 * MIB);
      f.write(sector);
    }
    try (FileDisk disk = FileDisk.open(mbr, true)) {
      assertThat(disk.geometry()).isEqualTo(new Geometry(16 * MIB / 512 / (16 * 32), 16, 32, 512));
    }
  }

  @Test
  void interruptingAQueueThreadDoesNotCloseTheImageForOthers() throws Exception {
    try (FileDisk disk = FileDisk.create(dir.resolve("intr.img"), MIB, 512)) {
      java.util.concurrent.atomic.AtomicReference<Throwable> failure =
          new java.util.concurrent.atomic.AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean stillInterrupted =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread t =
          new Thread(
              () -> {
                Thread.currentThread().interrupt();
                try (NativeBuffer io = new NativeBuffer(512)) {
                  disk.write(0, io.store(), 0, 512);
                  stillInterrupted.set(Thread.currentThread().isInterrupted());
                } catch (Throwable e) {
                  failure.set(e);
                }
              });
      t.start();
      t.join(10_000);
      assertThat(failure.get()).as("write on an interrupted thread").isNull();
      assertThat(stillInterrupted.get()).as("the write ran while interrupted").isTrue();
      try (NativeBuffer io = new NativeBuffer(512)) {
        disk.read(0, io.store(), 0, 512); // would throw ClosedChannelException if closed
      }
    }
  }
}
