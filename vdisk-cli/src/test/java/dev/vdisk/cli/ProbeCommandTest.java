package dev.vdisk.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vdisk probe} on dump files written here: a MEMDISK floppy (layout of a real MEMDISK 6.04
 * dump) chained in front of a GRUB4DOS block with a CD memdrive and one bad slot.
 */
class ProbeCommandTest {
  private static final int DUMP_SIZE = 4 << 20;
  private static final int DISK_AT = 0x200000;
  private static final int DISK_SIZE = 1474560;
  private static final int CD_AT = 0x380000;

  @TempDir Path dir;
  private Path dump;

  /** Output of one run. */
  record Run(int status, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new ProbeCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int status = cl.execute(args);
    return new Run(status, out.toString(), err.toString());
  }

  @BeforeEach
  void writeDump() throws IOException {
    ByteBuffer m = ByteBuffer.allocate(DUMP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    // MEMDISK at segment 0x9C00 (hook 9C00:000A), mBFT at +0x4C0, prev = GRUB4DOS 9CC0:0100.
    int s = 0x9C000;
    m.putShort(s, (short) 0x000A).putShort(s + 4, (short) 0x4E8);
    int h = s + 10;
    put(m, h + 3, "$INT13SFMEMDISK ");
    m.putInt(h + 19, 0x9CC00100).putInt(h + 27, s + 0x4C0);
    int t = s + 0x4C0;
    put(m, t, "mBFT");
    m.putInt(t + 4, 70);
    m.put(t + 8, (byte) 1);
    put(m, t + 10, "MEMDSKSyslinux");
    m.putInt(t + 36, h);
    int d = t + 40;
    m.putShort(d, (short) 30).put(d + 2, (byte) 4).put(d + 3, (byte) 6);
    m.putInt(d + 4, DISK_AT).putInt(d + 8, DISK_SIZE / 512);
    m.putShort(d + 12, (short) 0x5C8).putShort(d + 14, (short) 0x9C00);
    m.putInt(d + 16, 0x9CC00100).putShort(d + 24, (short) 627).put(d + 27, (byte) 9);
    m.putShort(d + 36, (short) 80).putShort(d + 38, (short) 2).putInt(d + 40, 18);
    m.put(d + 52, (byte) 0).put(d + 55, (byte) 0x04);
    int sum = 0;
    for (int i = 0; i < 70; i++) {
      sum += m.get(t + i);
    }
    m.put(t + 9, (byte) -sum);
    // GRUB4DOS at 0x9CC00: slot 0 a CD memdrive, slot 1 a memdrive of count 0 (rejected).
    int g = 0x9CC00;
    m.put(g, (byte) 12);
    put(m, g + 4, "G4DS");
    m.putShort(g + 8, (short) 1).putInt(g + 0x1C, 0xF000E3FE);
    slot(m, g + 0x20, 0xFF, 0xFE, 0x3F, 0xA008, CD_AT / 512, 1000);
    slot(m, g + 0x38, 0x80, 0x3F, 0x20, 0x8008, 0x300000 / 512, 0);
    put(m, g + 0x103, "$INT13SFGRUB4DOS");
    m.putInt(g + 0x113, 0xF000E3FE).putInt(g + 0x117, 1);
    m.putInt(0x4C, 0x9C00000A);
    for (int i = 0; i < DISK_SIZE; i++) {
      m.put(DISK_AT + i, (byte) (i * 7 + (i >>> 9)));
    }
    dump = Files.write(dir.resolve("guest.dump"), m.array());
  }

  private static void put(ByteBuffer m, int at, String ascii) {
    m.put(at, ascii.getBytes(StandardCharsets.US_ASCII));
  }

  private static void slot(
      ByteBuffer m,
      int at,
      int from,
      int maxHead,
      int maxSector,
      int toCyl,
      long start,
      long count) {
    m.put(at, (byte) from).put(at + 1, (byte) 0xFF).put(at + 2, (byte) maxHead);
    m.put(at + 3, (byte) maxSector).putShort(at + 4, (short) toCyl);
    m.put(at + 6, (byte) 0xFE).put(at + 7, (byte) 0x7F);
    m.putLong(at + 8, start).putLong(at + 16, count);
  }

  @Test
  void listsHooksDisksAndRejections() {
    Run r = run(dump.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("#0 9C00:000A")
        .contains("#1 9CC0:0100")
        .contains("[0] MEMDISK floppy drive 0x00: 0x200000-0x367FFF, 1474560 bytes")
        .contains("C/H/S 80/2/18")
        .contains("[1] GRUB4DOS cdrom drive 0xFF: 0x380000")
        .contains("GRUB4DOS slot 1 (drive 0x80): memdrive with sector count 0");
    assertThat(r.err()).isEmpty();
  }

  @Test
  void jsonHasTheDisksAndRejectedArrays() throws IOException {
    Run r = run(dump.toString(), "--json");
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode root = new ObjectMapper().readTree(r.out());
    JsonNode disks = root.get("disks");
    assertThat(disks).hasSize(2);
    JsonNode fd = disks.get(0);
    assertThat(fd.get("kind").asText()).isEqualTo("MEMDISK");
    assertThat(fd.get("address").asLong()).isEqualTo(DISK_AT);
    assertThat(fd.get("size").asLong()).isEqualTo(DISK_SIZE);
    assertThat(fd.get("sectorSize").asInt()).isEqualTo(512);
    assertThat(fd.get("cylinders").asInt()).isEqualTo(80);
    assertThat(fd.get("heads").asInt()).isEqualTo(2);
    assertThat(fd.get("sectors").asInt()).isEqualTo(18);
    assertThat(fd.get("readOnly").asBoolean()).isFalse();
    assertThat(fd.get("cdrom").asBoolean()).isFalse();
    JsonNode cd = disks.get(1);
    assertThat(cd.get("kind").asText()).isEqualTo("GRUB4DOS");
    assertThat(cd.get("cdrom").asBoolean()).isTrue();
    assertThat(cd.get("sectorSize").asInt()).isEqualTo(2048);
    assertThat(cd.get("size").asLong()).isEqualTo(512_000);
    assertThat(root.get("rejected")).hasSize(1);
    assertThat(root.get("rejected").get(0).get("reason").asText()).contains("sector count 0");
  }

  @Test
  void extractWritesTheDisksBytes() throws IOException {
    Path out = dir.resolve("fd.img");
    Run r = run(dump.toString(), "--extract", "0", "--output", out.toString());
    assertThat(r.status()).as(r.err()).isZero();
    byte[] got = Files.readAllBytes(out);
    assertThat(got).hasSize(DISK_SIZE);
    for (int i = 0; i < DISK_SIZE; i += 4099) {
      assertThat(got[i]).isEqualTo((byte) (i * 7 + (i >>> 9)));
    }
    assertThat(r.err()).contains("wrote disk 0 (1474560 bytes)");
  }

  @Test
  void extractOfAMissingDiskFails() {
    Run r = run(dump.toString(), "--extract", "7", "--output", dir.resolve("x").toString());
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err().strip()).isEqualTo("vdisk probe: no disk 7 in " + dump + " (found 2)");
    assertThat(dir.resolve("x")).doesNotExist();
  }

  @Test
  void extractToAnUnwritablePlaceFailsWithOneLine() {
    Run r =
        run(dump.toString(), "--extract", "0", "--output", dir.resolve("no/such/dir/f").toString());
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err().strip()).startsWith("vdisk probe: cannot write").doesNotContain("\n");
  }

  @Test
  void extractAndOutputGoTogether() {
    assertThat(run(dump.toString(), "--extract", "0").status()).isEqualTo(2);
    assertThat(run(dump.toString(), "--output", "f").status()).isEqualTo(2);
    assertThat(run(dump.toString(), "--extract", "-1", "--output", "f").status()).isEqualTo(2);
  }

  @Test
  void unreadableDumpsExitOneWithAOneLineReason() throws IOException {
    Run missing = run(dir.resolve("nope.dump").toString());
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err().strip())
        .isEqualTo("vdisk probe: cannot read " + dir.resolve("nope.dump") + ": no such file");
    Path empty = Files.createFile(dir.resolve("empty.dump"));
    Run e = run(empty.toString());
    assertThat(e.status()).isEqualTo(1);
    assertThat(e.err().strip())
        .isEqualTo("vdisk probe: " + empty + " is empty (expected a raw physical-memory dump)");
    Run d = run(dir.toString());
    assertThat(d.status()).isEqualTo(1);
    assertThat(d.err()).contains("not a regular file");
  }

  @Test
  void dumpWithoutDisksStillExitsZero() throws IOException {
    Path plain = Files.write(dir.resolve("plain.dump"), new byte[1 << 20]);
    Run r = run(plain.toString());
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("disks:\n  (none)");
  }

  @Test
  void truncatedDumpIsReadAndItsDisksAreRejectedWithReasons() throws IOException {
    // Cut at 3 MiB: the floppy (to 0x367FFF) and the CD memdrive (from 0x380000) lie past the end.
    byte[] all = Files.readAllBytes(dump);
    Path cut = Files.write(dir.resolve("cut.dump"), java.util.Arrays.copyOf(all, 3 << 20));
    Run r = run(cut.toString(), "--json");
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode root = new ObjectMapper().readTree(r.out());
    assertThat(root.get("disks")).isEmpty();
    assertThat(root.get("hooks")).hasSize(2);
    assertThat(root.get("rejected").findValuesAsText("reason"))
        .anySatisfy(x -> assertThat(x).contains("[0x200000, 0x368000) is not wholly in the image"))
        .anySatisfy(x -> assertThat(x).contains("[0x380000, 0x3FD000) is not wholly in the image"));
    // Cut inside the BDA: still read (exit 0), reported as not a PC memory image.
    Path stub = Files.write(dir.resolve("stub.dump"), java.util.Arrays.copyOf(all, 0x400));
    Run s = run(stub.toString());
    assertThat(s.status()).as(s.err()).isZero();
    assertThat(s.out()).contains("not a PC memory image");
  }

  @Test
  void baseAddressShiftsTheDump() {
    Run r = run(dump.toString(), "--base", "0x100000");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("not a PC memory image");
    assertThat(run(dump.toString(), "--base", "zz").status()).isEqualTo(2);
    assertThat(run(dump.toString(), "--base", "0xFFFFFFFFFFFFF000").status()).isEqualTo(1);
  }

  @Test
  void elfCoreGetsAWarning() throws IOException {
    byte[] b = new byte[4096];
    b[0] = 0x7F;
    b[1] = 'E';
    b[2] = 'L';
    b[3] = 'F';
    Run r = run(Files.write(dir.resolve("core"), b).toString());
    assertThat(r.status()).isZero();
    assertThat(r.err()).contains("ELF core");
  }

  @Test
  void registeredInTheVdiskCommand() {
    assertThat(Vdisk.commandLine().getSubcommands()).containsKey("probe");
  }
}
