package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.backend.ByteSwapDevice;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.backend.WindowDevice;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockDevicesTest {
  private static final long MIB = 1L << 20;

  @TempDir Path dir;

  @Test
  void theBuiltInSchemesAreFoundThroughServiceLoader() {
    assertThat(BlockDevices.knownSchemes()).contains("file", "ram");
  }

  @Test
  void pathsAndFileUrisOpenRawImages() throws IOException {
    Path image = dir.resolve("a disk.img");
    try (FileDisk d = FileDisk.create(image, MIB, 512)) {
      assertThat(d.size()).isEqualTo(MIB);
    }
    for (String name :
        new String[] {
          image.toString(), "file:" + image, image.toUri().toString(), "FILE:" + image
        }) {
      try (BlockDevice d = BlockDevices.open(name)) {
        assertThat(d).as(name).isInstanceOf(FileDisk.class);
        assertThat(((FileDisk) d).path().toAbsolutePath()).as(name).isEqualTo(image);
        assertThat(d.isReadOnly()).isFalse();
      }
    }
    Path relative = Path.of("").toAbsolutePath().relativize(image);
    try (BlockDevice d = BlockDevices.open("file:" + relative)) {
      assertThat(d.size()).isEqualTo(MIB);
    }
  }

  @Test
  void ramUrisMakeSparseRamDisksOfTheGivenSize() throws IOException {
    try (BlockDevice d = BlockDevices.open("ram:64M")) {
      assertThat(d).isInstanceOf(RamDisk.class);
      assertThat(d.size()).isEqualTo(64 * MIB);
      assertThat(d.blockSize()).isEqualTo(512);
    }
    try (BlockDevice d = BlockDevices.open("ram:64G", OpenOptions.DEFAULTS.withBlockSize(4096))) {
      assertThat(d.size()).isEqualTo(64L << 30);
      assertThat(d.blockSize()).isEqualTo(4096);
      assertThat(((RamDisk) d).allocatedBytes()).isZero();
    }
    assertThatThrownBy(() -> BlockDevices.open("ram:lots"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'lots'")
        .hasMessageContaining("ram:lots");
    assertThatThrownBy(() -> BlockDevices.open("ram:1000"))
        .hasMessageContaining("1000")
        .hasMessageContaining("multiple of block size 512");
  }

  @Test
  void anUnknownSchemeListsTheKnownOnes() {
    assertThatThrownBy(() -> BlockDevices.open("floppy:/dev/fd0"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown disk scheme 'floppy'")
        .hasMessageContaining("file")
        .hasMessageContaining("ram");
    assertThatThrownBy(() -> BlockDevices.open(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void anExistingFileWhoseNameLooksLikeAUriIsOpenedAsAPath() throws IOException {
    Path odd = dir.resolve("odd:name.img");
    Files.write(odd, new byte[4096]);
    try (BlockDevice d = BlockDevices.open(odd.toString())) {
      assertThat(d.size()).isEqualTo(4096);
    }
    // A one-letter "scheme" is a drive letter, i.e. a path; this one does not exist.
    assertThatThrownBy(() -> BlockDevices.open("C:\\nowhere.img"))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void sharedOptionsApplyWindowThenReadOnlyThenByteSwap() throws IOException {
    OpenOptions options =
        OpenOptions.DEFAULTS.withWindow(MIB, 2 * MIB).withReadOnly(true).withByteSwap(true);
    try (BlockDevice d = BlockDevices.open("ram:4M", options)) {
      assertThat(d).isInstanceOf(ByteSwapDevice.class);
      BlockDevice ro = ((ByteSwapDevice) d).inner();
      assertThat(ro).isInstanceOf(ReadOnlyDevice.class);
      BlockDevice window = ((ReadOnlyDevice) ro).inner();
      assertThat(window).isInstanceOf(WindowDevice.class);
      assertThat(((WindowDevice) window).offset()).isEqualTo(MIB);
      assertThat(d.size()).isEqualTo(2 * MIB);
      assertThat(d.isReadOnly()).isTrue();
    }
  }

  @Test
  void readOnlyFilesAreOpenedReadOnlyAndWindowedReadsLandAtTheOffset() throws IOException {
    Path image = dir.resolve("ro.img");
    try (FileDisk d = FileDisk.create(image, 2 * MIB, 512);
        NativeBuffer io = new NativeBuffer(512)) {
      io.fill(0, 512, (byte) 0x3c);
      d.write(MIB, io.store(), 0, 512);
    }
    OpenOptions options = OpenOptions.DEFAULTS.withReadOnly(true).withWindow(MIB, -1);
    try (BlockDevice d = BlockDevices.open(image.toString(), options);
        NativeBuffer io = new NativeBuffer(512)) {
      assertThat(d.isReadOnly()).isTrue();
      assertThat(((WindowDevice) d).inner()).isInstanceOf(FileDisk.class); // no extra wrapper
      d.read(0, io.store(), 0, 512);
      assertThat(io.get(0, 512)).containsOnly((byte) 0x3c);
    }
  }

  @Test
  void createSizeMakesANewSparseImageAndNeverOverwrites() throws IOException {
    Path image = dir.resolve("fresh.img");
    OpenOptions create = OpenOptions.DEFAULTS.withCreateSize(8 * MIB);
    try (BlockDevice d = BlockDevices.open("file:" + image, create)) {
      assertThat(d.size()).isEqualTo(8 * MIB);
      assertThat(d.extent(0, 8 * MIB)).isEqualTo(-8 * MIB);
    }
    assertThatThrownBy(() -> BlockDevices.open("file:" + image, create))
        .isInstanceOf(FileAlreadyExistsException.class);
  }

  @Test
  void aWindowThatDoesNotFitIsRefusedNamingIt() {
    assertThatThrownBy(
            () -> BlockDevices.open("ram:1M", OpenOptions.DEFAULTS.withWindow(2 * MIB, -1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("window offset " + 2 * MIB);
    assertThatThrownBy(() -> OpenOptions.DEFAULTS.withWindow(-1, -1))
        .hasMessageContaining("offset -1");
  }
}
