package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.ForwardingBlockDevice;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.nbd.NbdServer;
import dev.vdisk.remote.nbd.NbdServerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vdisk copy} and {@code vdisk info} between files, RAM disks and an in-process NBD export.
 */
class CopyCommandTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  record Run(int status, String out, String err) {}

  static Run vdisk(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Vdisk.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int status = cl.execute(args);
    return new Run(status, out.toString(), err.toString());
  }

  /** 8 MiB: random data in MiB 1 and 5, the rest never written. */
  private Path sparseImage() throws IOException {
    Path p = dir.resolve("src.img");
    byte[] data = new byte[MIB];
    new Random(3).nextBytes(data);
    try (FileChannel ch =
        FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(data), MIB);
      ch.write(java.nio.ByteBuffer.wrap(data), 5L * MIB);
      ch.truncate(8L * MIB);
      if (ch.size() < 8L * MIB) {
        ch.write(java.nio.ByteBuffer.wrap(new byte[1]), 8L * MIB - 1);
      }
    }
    return p;
  }

  private static String sha(Path p) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  private static String sha(RamDisk d) throws Exception {
    BytesStore<?, Void> b = BytesStore.nativeStoreWithFixedCapacity(d.size());
    try {
      d.read(0, b, 0, (int) d.size());
      byte[] a = new byte[(int) d.size()];
      b.read(0, a, 0, a.length);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(a));
    } finally {
      b.releaseLast();
    }
  }

  @Test
  void fileToNewFileCopiesEveryByte() throws Exception {
    Path src = sparseImage();
    Path dst = dir.resolve("new.img");
    Run r = vdisk("copy", src.toString(), dst.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("copied 8");
    assertThat(sha(dst)).isEqualTo(sha(src));
    Path unflushed = dir.resolve("unflushed.img");
    Run n = vdisk("copy", "--no-flush", src.toString(), unflushed.toString());
    assertThat(n.status()).as(n.err()).isZero();
    assertThat(sha(unflushed)).isEqualTo(sha(src));
  }

  @Test
  void nbdExportToNewFileSkipsHolesAndFileBackOverAnExistingDiskZeroesThem() throws Exception {
    Path src = sparseImage();
    try (RamDisk disk = RamDisk.create(8L * MIB);
        NbdServer server =
            NbdServer.start(
                Endpoint.unix(dir.resolve("nbd.sock")), disk, NbdServerOptions.DEFAULTS)) {
      String uri = "nbd+unix:///?socket=" + server.endpoint().unixPath();
      // Garbage everywhere first, so holes of the source must be zeroed on the way in.
      BytesStore<?, Void> junk = BytesStore.nativeStoreWithFixedCapacity(8L * MIB);
      try {
        for (long i = 0; i < 8L * MIB; i += 8) {
          junk.writeLong(i, 0x5555_5555_5555_5555L);
        }
        disk.write(0, junk, 0, 8 * MIB);
      } finally {
        junk.releaseLast();
      }
      Run in = vdisk("copy", src.toString(), uri);
      assertThat(in.status()).as(in.err()).isZero();
      assertThat(sha(disk)).isEqualTo(sha(src));
      // Trim the never-written MiBs so the export reports holes, then copy out.
      disk.discard(0, MIB);
      disk.discard(2L * MIB, 3L * MIB);
      disk.discard(6L * MIB, 2L * MIB);
      Path out = dir.resolve("out.img");
      Run r = vdisk("copy", "--requests", "4", "--request-size", "256K", uri, out.toString());
      assertThat(r.status()).as(r.err()).isZero();
      assertThat(r.out()).contains("6M of holes skipped").contains("4 source connections");
      assertThat(sha(out)).isEqualTo(sha(src));

      Run info = vdisk("info", "--json", uri);
      assertThat(info.status()).as(info.err()).isZero();
      JsonNode j = new ObjectMapper().readTree(info.out());
      assertThat(j.get("size").asLong()).isEqualTo(8L * MIB);
      assertThat(j.get("block_size").asInt()).isEqualTo(512);
      assertThat(j.get("capabilities").get("async").asBoolean()).isTrue();
      assertThat(j.get("capabilities").get("discard").asBoolean()).isTrue();
    }
  }

  @Test
  void nbdExportOverAnExistingFileZeroesItsHolesAndASourceErrorFailsTheCopy() throws Exception {
    Path src = sparseImage();
    try (RamDisk disk = RamDisk.create(8L * MIB);
        FailingFrom failing = new FailingFrom(disk, 6L * MIB);
        NbdServer server =
            NbdServer.start(
                Endpoint.unix(dir.resolve("f.sock")), failing, NbdServerOptions.DEFAULTS)) {
      String uri = "nbd+unix:///?socket=" + server.endpoint().unixPath();
      BytesStore<?, Void> data = BytesStore.nativeStoreWithFixedCapacity(8L * MIB);
      try (FileDisk f = FileDisk.open(src, true)) {
        f.read(0, data, 0, 8 * MIB);
        disk.write(0, data, 0, 8 * MIB);
      } finally {
        data.releaseLast();
      }
      disk.discard(0, MIB);
      disk.discard(2L * MIB, 3L * MIB);
      disk.discard(6L * MIB, 2L * MIB);
      // The destination exists and is full of junk: the source's holes must be zeroed on it.
      Path out = dir.resolve("existing.img");
      byte[] junk = new byte[8 * MIB];
      java.util.Arrays.fill(junk, (byte) 0x55);
      Files.write(out, junk);
      failing.failing = false;
      Run ok = vdisk("copy", "--request-size", "64K", uri, out.toString());
      assertThat(ok.status()).as(ok.err()).isZero();
      assertThat(sha(out)).isEqualTo(sha(src));

      // Reads at 6 MiB and beyond fail: the copy stops with exit 1 and one line naming the error
      // (the other reads in flight are waited for, not abandoned with their buffers).
      disk.write(7L * MIB, BytesStore.nativeStoreWithFixedCapacity(MIB), 0, MIB);
      failing.failing = true;
      Run bad = vdisk("copy", uri, dir.resolve("partial.img").toString());
      assertThat(bad.status()).as(bad.out()).isEqualTo(1);
      assertThat(bad.err().strip()).doesNotContain("\n").contains("injected read failure");
    }
  }

  /** Reads from {@code from} on fail while {@code failing} is set. */
  static final class FailingFrom extends ForwardingBlockDevice {
    private final long from;
    volatile boolean failing = true;

    FailingFrom(BlockDevice inner, long from) {
      super(inner);
      this.from = from;
    }

    @Override
    public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
        throws IOException {
      if (failing && offset + length > from) {
        throw new BlockDeviceException(
            BlockDeviceException.Reason.IO_ERROR, "injected read failure", offset, length);
      }
      super.read(offset, dst, dstOffset, length);
    }

    @Override
    public void close() {
      // The test closes the RAM disk itself.
    }
  }

  @Test
  void writesToALocalFileAreSerialisedWritesToOtherDisksAreNot() throws Exception {
    Path img = dir.resolve("w.img");
    try (FileDisk file = FileDisk.create(img, MIB, 512);
        RamDisk ram = RamDisk.create(MIB)) {
      assertThat(CopyCommand.Copier.oneWriterAtATime(file)).isTrue();
      assertThat(CopyCommand.Copier.oneWriterAtATime(ReadOnlyDevice.of(file))).isTrue();
      assertThat(CopyCommand.Copier.oneWriterAtATime(ram)).isFalse();
    }
  }

  @Test
  void infoInTextForm() {
    Run r = vdisk("info", "ram:64M");
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("size: 67108864")
        .contains("block_size: 512")
        .contains("geometry:");
  }

  @Test
  void failuresExitNonZeroWithOneLineReasons() throws Exception {
    Run missing =
        vdisk("copy", dir.resolve("nope.img").toString(), dir.resolve("x.img").toString());
    assertThat(missing.status()).isNotZero();
    assertThat(missing.err().strip()).doesNotContain("\n").contains("nope.img");

    Path small = dir.resolve("small.img");
    Files.write(small, new byte[4096]);
    Run tooSmall = vdisk("copy", "ram:1M", small.toString());
    assertThat(tooSmall.status()).isEqualTo(1);
    assertThat(tooSmall.err()).contains("holds 4096 bytes");

    Run badArg = vdisk("copy", "--requests", "0", "ram:1M", dir.resolve("y.img").toString());
    assertThat(badArg.status()).isEqualTo(2);
    assertThat(badArg.err()).contains("--requests 0");

    Run badConnections =
        vdisk("copy", "--connections", "17", "ram:1M", dir.resolve("z.img").toString());
    assertThat(badConnections.status()).isEqualTo(2);
    assertThat(badConnections.err()).contains("--connections 17 (expected 1..16)");

    Run dead = vdisk("info", "--timeout", "1", "nbd+unix:///?socket=" + dir.resolve("no.sock"));
    assertThat(dead.status()).isEqualTo(1);
    assertThat(dead.err().strip())
        .startsWith("vdisk")
        .doesNotContain("\n")
        .contains("cannot connect");
  }
}
