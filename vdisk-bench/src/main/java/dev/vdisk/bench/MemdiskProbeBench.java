package dev.vdisk.bench;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.memdisk.MemdiskProbe;
import dev.vdisk.memdisk.MemoryDump;
import dev.vdisk.memdisk.ProbeResult;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Time to probe a 4 GiB guest memory image for MEMDISK / GRUB4DOS RAM disks: the INT 13h chain
 * walk, the mBFT scan of the first MiB and the disk cross-checks.
 *
 * <p>The image is a sparse 4 GiB file, memory-mapped by {@link MemoryDump} exactly as {@code vdisk
 * probe} maps a real dump, holding a two-hook chain synthesized per the vdisk spec (section 10): a
 * MEMDISK hard disk of 16 MiB at 1 GiB (S = 0x9C00) whose previous hook is a GRUB4DOS block (G =
 * 0x9CC0) with a 1.44 MB floppy memdrive at 3 GiB, then the BIOS. Setup fails unless the probe
 * finds both disks, so the benchmark never times a probe that gave up early.
 */
@State(Scope.Thread)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MemdiskProbeBench extends BenchBase {
  static final long IMAGE_BYTES = 4L << 30;
  static final int MEMDISK_SEGMENT = 0x9C00;
  static final int GRUB4DOS_SEGMENT = 0x9CC0;
  static final long MEMDISK_DISK = 1L << 30;
  static final int MEMDISK_SECTORS = 32768; // 16 MiB: 16 cylinders x 64 heads x 32 sectors
  static final long FLOPPY_DISK = 3L << 30;
  static final int FLOPPY_SECTORS = 2880;
  static final int MBFT_OFFSET = 0x4C0;
  static final int MDI_BYTES = 30;

  private Path file;
  private GuestMemory memory;

  @Setup
  public void setUp() throws IOException {
    file = Files.createTempFile("vdisk-bench-probe", ".img");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(IMAGE_BYTES);
      plant(raf.getChannel());
    }
    memory = MemoryDump.open(file, 0);
    ProbeResult r = MemdiskProbe.probe(memory);
    if (r.disks().size() != 2) {
      throw new IllegalStateException(
          "synthesized image: probe found "
              + r.disks().size()
              + " disks (expected 2: MEMDISK and GRUB4DOS); rejected: "
              + r.rejected()
              + "; warnings: "
              + r.warnings());
    }
  }

  @TearDown
  public void tearDown() throws IOException {
    memory.close();
    Files.deleteIfExists(file);
  }

  @Benchmark
  public ProbeResult probe() {
    return MemdiskProbe.probe(memory);
  }

  // -- the synthesized image ----------------------------------------------------------------

  private static void plant(FileChannel ch) throws IOException {
    ByteBuffer low = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    int memdisk = MEMDISK_SEGMENT << 4;
    int grub = GRUB4DOS_SEGMENT << 4;
    // IVT: INT 13h -> MEMDISK S:000A; INT 15h likewise into MEMDISK. BDA: base memory lowered.
    low.putShort(0x4C, (short) 0x000A).putShort(0x4E, (short) MEMDISK_SEGMENT);
    low.putShort(0x54, (short) 0x02D1).putShort(0x56, (short) MEMDISK_SEGMENT);
    low.putShort(0x413, (short) (memdisk >> 10));

    // MEMDISK resident block header (spec 5.1), safe hook (section 3), mBFT + MDI (5.2-5.4).
    int mbft = memdisk + MBFT_OFFSET;
    int mdi = mbft + 40;
    low.putShort(memdisk, (short) 0x000A);
    low.putShort(memdisk + 2, (short) 0x02D1);
    low.putShort(memdisk + 4, (short) (mdi - memdisk));
    low.putShort(memdisk + 6, (short) 0x700);
    low.putShort(memdisk + 8, (short) 0x02D0);
    int hook = memdisk + 10;
    low.put(hook, (byte) 0xE9).putShort(hook + 1, (short) 0x0100);
    ascii(low, hook + 3, "$INT13SF");
    ascii(low, hook + 11, "MEMDISK ");
    low.putShort(hook + 19, (short) 0x0100).putShort(hook + 21, (short) GRUB4DOS_SEGMENT);
    low.putInt(hook + 23, 0);
    low.putInt(hook + 27, mbft);

    ascii(low, mbft, "mBFT");
    low.putInt(mbft + 4, 40 + MDI_BYTES);
    low.put(mbft + 8, (byte) 1);
    ascii(low, mbft + 10, "MEMDSK");
    ascii(low, mbft + 16, "Syslinux");
    low.putInt(mbft + 36, hook);
    low.putShort(mdi, (short) MDI_BYTES);
    low.put(mdi + 2, (byte) 4).put(mdi + 3, (byte) 6);
    low.putInt(mdi + 4, (int) MEMDISK_DISK);
    low.putInt(mdi + 8, MEMDISK_SECTORS);
    low.putShort(mdi + 12, (short) 0x710).putShort(mdi + 14, (short) MEMDISK_SEGMENT);
    low.putShort(mdi + 16, (short) 0x0100).putShort(mdi + 18, (short) GRUB4DOS_SEGMENT);
    low.putShort(mdi + 20, (short) 0xF859).putShort(mdi + 22, (short) 0xF000);
    low.putShort(mdi + 24, (short) (grub >> 10));
    low.put(mdi + 26, (byte) 0xB0);
    low.put(mdi + 27, (byte) 9);
    low.putShort(mdi + 36, (short) 16).putShort(mdi + 38, (short) 64).putInt(mdi + 40, 32);
    low.put(mdi + 52, (byte) 0x80);
    low.put(mdi + 54, (byte) 1);
    low.put(mdi + 55, (byte) 0x04);
    low.putShort(mdi + 58, (short) 0x474);
    int sum = 0;
    for (int i = 0; i < 40 + MDI_BYTES; i++) {
      sum += low.get(mbft + i);
    }
    low.put(mbft + 9, (byte) -sum);

    // GRUB4DOS resident block (spec 6.1) with one floppy memdrive slot (6.2, as observed).
    low.put(grub, (byte) 12);
    ascii(low, grub + 4, "G4DS");
    low.putShort(grub + 8, (short) 1);
    low.putShort(grub + 0x0C, (short) 0xF859).putShort(grub + 0x0E, (short) 0xF000);
    low.putShort(grub + 0x1C, (short) 0xE3FE).putShort(grub + 0x1E, (short) 0xF000);
    int slot = grub + 0x20;
    low.put(slot, (byte) 0x00).put(slot + 1, (byte) 0xFF).put(slot + 2, (byte) 0x01);
    low.put(slot + 3, (byte) 0x12).putShort(slot + 4, (short) 0x8804);
    low.put(slot + 6, (byte) 0xFE).put(slot + 7, (byte) 0x7F);
    low.putLong(slot + 8, FLOPPY_DISK >>> 9).putLong(slot + 16, FLOPPY_SECTORS);
    low.put(grub + 0x100, (byte) 0xE9).put(grub + 0x101, (byte) 0x09).put(grub + 0x102, (byte) 1);
    ascii(low, grub + 0x103, "$INT13SF");
    ascii(low, grub + 0x10B, "GRUB4DOS");
    low.putShort(grub + 0x113, (short) 0xE3FE).putShort(grub + 0x115, (short) 0xF000);
    low.putInt(grub + 0x117, 1);
    writeFully(ch, low, 0);

    // Disk contents: a boot signature at the start of each, so the pages exist.
    ByteBuffer sector = ByteBuffer.allocate(512);
    sector.put(510, (byte) 0x55).put(511, (byte) 0xAA);
    writeFully(ch, sector, MEMDISK_DISK);
    writeFully(ch, sector.clear(), FLOPPY_DISK);
  }

  private static void ascii(ByteBuffer b, int at, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < bytes.length; i++) {
      b.put(at + i, bytes[i]);
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
    b.clear();
    long p = position;
    while (b.hasRemaining()) {
      p += ch.write(b, p);
    }
  }
}
