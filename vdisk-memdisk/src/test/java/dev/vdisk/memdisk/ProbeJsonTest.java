package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vdisk.api.GuestMemory;
import org.junit.jupiter.api.Test;

/** The JSON document and the text report the CLI prints. */
class ProbeJsonTest {

  private static ProbeResult mixed() {
    try (GuestMemory m = Images.pc(32 << 20)) {
      new SyntheticGrub4Dos()
          .slot(0xFF, 0xFF, 0xFE, 0x3F, 0xA008, 0xFE, 0x7F, 0x1800000L / 512, 1000)
          .slot(0x81, 0xFF, 0x3F, 0x20, 0x8008, 0xFE, 0x7F, 0x1000000L / 512, 0) // count 0
          .writeTo(m);
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.segment = 0x9C00;
      md.oldDosMem = 627;
      md.prev = SyntheticMemdisk.vector(0x9CC0, 0x0100);
      md.configflags = 0x05;
      md.cmdline = "floppy ro";
      md.writeTo(m);
      return MemdiskProbe.probe(m);
    }
  }

  @Test
  void disksCarryTheNamedFieldsAsNumbersAndRejectionsTheirReasons() throws Exception {
    JsonNode root = new ObjectMapper().readTree(ProbeJson.toJson(mixed()));

    JsonNode disks = root.get("disks");
    assertThat(disks).hasSize(2);
    JsonNode fd = disks.get(0);
    assertThat(fd.get("kind").asText()).isEqualTo("MEMDISK");
    assertThat(fd.get("address").isNumber()).isTrue();
    assertThat(fd.get("address").asLong()).isEqualTo(0x200000);
    assertThat(fd.get("size").asLong()).isEqualTo(1474560);
    assertThat(fd.get("sectorSize").asInt()).isEqualTo(512);
    assertThat(fd.get("cylinders").asLong()).isEqualTo(80);
    assertThat(fd.get("heads").asInt()).isEqualTo(2);
    assertThat(fd.get("sectors").asLong()).isEqualTo(18);
    assertThat(fd.get("readOnly").asBoolean()).isTrue();
    assertThat(fd.get("cdrom").asBoolean()).isFalse();
    JsonNode cd = disks.get(1);
    assertThat(cd.get("kind").asText()).isEqualTo("GRUB4DOS");
    assertThat(cd.get("cdrom").asBoolean()).isTrue();
    assertThat(cd.get("sectorSize").asInt()).isEqualTo(2048);
    assertThat(cd.get("size").asLong()).isEqualTo(512_000);

    JsonNode rejected = root.get("rejected");
    assertThat(rejected).hasSize(1);
    assertThat(rejected.get(0).get("subject").asText()).isEqualTo("GRUB4DOS slot 1 (drive 0x81)");
    assertThat(rejected.get(0).get("reason").asText()).contains("sector count 0");
    assertThat(rejected.get(0).get("address").isNumber()).isTrue();

    assertThat(root.get("hooks")).hasSize(2);
    assertThat(root.get("memdisks").get(0).get("commandLine").asText()).isEqualTo("floppy ro");
    assertThat(root.get("grub4dos").get(0).get("slots")).hasSize(2);
  }

  @Test
  void textReportListsHooksTablesDisksAndRejections() {
    String text = ProbeReport.format(mixed());
    assertThat(text)
        .contains("#0 9C00:000A at 0x9C00A  vendor MEMDISK_")
        .contains("#1 9CC0:0100 at 0x9CD00  vendor GRUB4DOS")
        .contains("end at F000:E3FE")
        .contains("MEMDISK 6.04")
        .contains("command line \"floppy ro\"")
        .contains("GRUB4DOS block at 0x9CC00 (12 KiB), drive map at 0x9CC20")
        .contains("slot 0: 0xFF -> memory start 49152 count 1000 (CD), safe-boot")
        .contains("[0] MEMDISK floppy drive 0x00: 0x200000-0x367FFF, 1474560 bytes (2880 x 512)")
        .contains("read-only")
        .contains("[1] GRUB4DOS cdrom drive 0xFF")
        .contains("rejected:\n  GRUB4DOS slot 1 (drive 0x81): memdrive with sector count 0");
  }
}
