package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Memory dumps are mapped, not read: a sparse 4 GiB dump probes in well under a second. */
class MemoryDumpTest {
  @TempDir Path dir;

  /** Writes {@code memory} to a raw dump file. */
  static Path dump(GuestMemory memory, Path file) throws IOException {
    long size = memory.region(0).size();
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] b = new byte[1 << 16];
      for (long off = 0; off < size; off += b.length) {
        int n = (int) Math.min(b.length, size - off);
        memory.read(off, b, 0, n);
        f.write(b, 0, n);
      }
    }
    return file;
  }

  @Test
  void probesADumpFileAndReadsTheDiskFromTheMapping() throws IOException {
    Path file;
    try (GuestMemory m = Images.pc(4 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.writeTo(m);
      md.fillDisk(m);
      file = dump(m, dir.resolve("fd.dump"));
    }
    try (GuestMemory m = MemoryDump.open(file, 0);
        NativeBuffer io = new NativeBuffer(512)) {
      assertThat(m.region(0).isWritable()).isFalse();
      assertThat(MemoryDump.looksLikeElf(m)).isFalse();
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.imageSize()).isEqualTo(4 << 20);
      MemoryDisk d = r.disks().get(0);
      MemoryDiskDevice dev = MemoryDiskDevice.open(m, d);
      assertThat(dev.isReadOnly()).isTrue(); // the mapping is read-only
      dev.read(512 * 100, io.store(), 0, 512);
      assertThat(io.get(7, 1)[0]).isEqualTo(SyntheticMemdisk.pattern(512 * 100 + 7));
    }
  }

  @Test
  void realCaptureTruncatedAt640KibFindsMemdiskButRefusesItsDisk() throws IOException {
    // Real data cut short: the first 640 KiB of a MEMDISK 6.04 floppy boot under QEMU. The hook,
    // mBFT and MDI are all there; the RAM disk at 0x1E78000 is not.
    byte[] capture;
    try (var in =
        new GZIPInputStream(
            getClass().getResourceAsStream("/real/memdisk-6.04-floppy-base640k.bin.gz"))) {
      capture = in.readAllBytes();
    }
    Path file = Files.write(dir.resolve("base640k.dump"), capture);
    try (GuestMemory m = MemoryDump.open(file, 0)) {
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.hooks())
          .singleElement()
          .satisfies(h -> assertThat(h.vector()).isEqualTo("9F40:000A"));
      assertThat(r.memdisks())
          .singleElement()
          .satisfies(
              md -> {
                assertThat(md.version()).isEqualTo("6.04");
                assertThat(md.diskBuffer()).isEqualTo(0x1E78000);
                assertThat(md.diskSectors()).isEqualTo(2880);
              });
      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected())
          .singleElement()
          .satisfies(
              x ->
                  assertThat(x.reason())
                      .startsWith("extent [0x1E78000, 0x1FE0000) is not wholly in the image"));
    }
  }

  @Test
  void writableDumpWritesReachTheFile() throws IOException {
    Path file;
    try (GuestMemory m = Images.pc(4 << 20)) {
      new SyntheticMemdisk().writeTo(m);
      file = dump(m, dir.resolve("rw.dump"));
    }
    try (GuestMemory m = MemoryDump.open(file, 0, true);
        NativeBuffer io = new NativeBuffer(512)) {
      MemoryDiskDevice dev = MemoryDiskDevice.open(m, MemdiskProbe.probe(m).disks().get(0));
      io.fill(0, 512, (byte) 0x5C);
      dev.write(512, io.store(), 0, 512);
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      f.seek(0x200000 + 512 + 511);
      assertThat(f.read()).isEqualTo(0x5C);
    }
  }

  @Test
  void unreadableDumpsFailWithAReason() throws IOException {
    assertThatThrownBy(() -> MemoryDump.open(dir.resolve("missing"), 0))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("missing");
    Path empty = Files.createFile(dir.resolve("empty"));
    assertThatThrownBy(() -> MemoryDump.open(empty, 0))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is empty");
    assertThatThrownBy(() -> MemoryDump.open(dir, 0))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a regular file");
    Path small = Files.write(dir.resolve("small"), new byte[16]);
    assertThatThrownBy(() -> MemoryDump.open(small, -8))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("past 2^64");
  }

  @Test
  void dumpAtAHighBaseIsNotAPcImage() throws IOException {
    Path file = Files.write(dir.resolve("high"), new byte[8192]);
    try (GuestMemory m = MemoryDump.open(file, 0x100000)) {
      ProbeResult r = MemdiskProbe.probe(m);
      assertThat(r.imageBase()).isEqualTo(0x100000);
      assertThat(r.rejected())
          .singleElement()
          .satisfies(x -> assertThat(x.reason()).contains("not a PC memory image"));
    }
  }

  @Test
  void elfCoreIsRecognised() throws IOException {
    Path file = Files.write(dir.resolve("core"), new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
    try (GuestMemory m = MemoryDump.open(file, 0)) {
      assertThat(MemoryDump.looksLikeElf(m)).isTrue();
    }
  }

  @Test
  void sparseFourGibDumpProbesWithoutReadingIt() throws IOException {
    Path file = dir.resolve("4g.dump");
    long fourGib = 4L << 30;
    try (GuestMemory low = Images.pc(1 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.diskbuf = 0xC0000000L; // 3 GiB
      md.disksize = 2880;
      md.writeTo(low);
      dump(low, file);
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(fourGib); // the rest is a hole
    }
    long t0 = System.nanoTime();
    try (GuestMemory m = MemoryDump.open(file, 0)) {
      ProbeResult r = MemdiskProbe.probe(m);
      long micros = (System.nanoTime() - t0) / 1000;
      assertThat(r.imageSize()).isEqualTo(fourGib);
      assertThat(r.disks())
          .singleElement()
          .satisfies(d -> assertThat(d.address()).isEqualTo(0xC0000000L));
      // Reported, not asserted: wall-clock time depends on the machine.
      System.out.printf("probe of a sparse 4 GiB dump (map + probe): %d us%n", micros);
    }
  }
}
