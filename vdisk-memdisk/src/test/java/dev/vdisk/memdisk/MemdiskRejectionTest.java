package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.GuestMemory;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One mutation at a time of a valid MEMDISK (spec §9, §10): each must give no disk and one
 * rejection whose reason names the offending value.
 */
class MemdiskRejectionTest {

  /** A mutation applied after the valid structures were written. */
  interface Mutation extends BiConsumer<SyntheticMemdisk, GuestMemory> {}

  static Stream<Arguments> mutations() {
    return Stream.of(
        case_(
            "checksum byte flipped",
            (md, m) -> m.putU8(md.mbft() + 9, m.u8(md.mbft() + 9) ^ 1),
            "checksum: its 70 bytes sum to 0x01"),
        case_(
            "MDI byte changed after checksum", (md, m) -> m.putU8(md.mdi() + 4, 0x42), "checksum"),
        case_(
            "mBFT signature",
            (md, m) -> SyntheticMemdisk.put(m, md.mbft(), "mBFX"),
            "signature 'mBFX'"),
        case_(
            "length below 66",
            (md, m) -> {
              m.putU32(md.mbft() + 4, 60);
              md.fixChecksum(m);
            },
            "length 60 (expected >= 66)"),
        case_(
            "length != 40 + MDI bytes",
            (md, m) -> {
              m.putU32(md.mbft() + 4, 72);
              md.fixChecksum(m);
            },
            "length 72 != 40 + MDI bytes 30"),
        case_(
            "mBFT pointer past the image",
            (md, m) -> m.putU32(md.hook() + 27, 0x7FFFFFF0L),
            "mBFT pointer 0x7FFFFFF0 outside 0x500-0xFFFFF"),
        case_(
            "mBFT pointer into the IVT",
            (md, m) -> m.putU32(md.hook() + 27, 0x100),
            "mBFT pointer 0x100"),
        case_(
            "mBFT pointer just below 1 MiB",
            (md, m) -> m.putU32(md.hook() + 27, 0xFFFF0),
            "mBFT pointer 0xFFFF0"),
        case_(
            "back-pointer to another hook",
            (md, m) -> {
              m.putU32(md.mbft() + 36, 0x9E00A);
              md.fixChecksum(m);
            },
            "back-pointer 0x9E00A != hook address 0x9F40A"),
        case_(
            "sector_shift 31",
            (md, m) -> {
              m.putU8(md.mdi() + 27, 31);
              md.fixChecksum(m);
            },
            "sector_shift 31"),
        case_(
            "sector_shift 3",
            (md, m) -> {
              m.putU8(md.mdi() + 27, 3);
              md.fixChecksum(m);
            },
            "sector_shift 3 gives 8-byte sectors"),
        case_(
            "disksize 0",
            (md, m) -> {
              m.putU32(md.mdi() + 8, 0);
              md.fixChecksum(m);
            },
            "disksize 0"),
        case_(
            "disksize 0xFFFFFFFF",
            (md, m) -> {
              m.putU32(md.mdi() + 8, 0xFFFFFFFFL);
              md.fixChecksum(m);
            },
            "past 4 GiB"),
        case_(
            "diskbuf 0",
            (md, m) -> {
              m.putU32(md.mdi() + 4, 0);
              md.fixChecksum(m);
            },
            "diskbuf 0"),
        case_(
            "diskbuf in the first MiB",
            (md, m) -> {
              m.putU32(md.mdi() + 4, 0x10000);
              md.fixChecksum(m);
            },
            "diskbuf 0x10000 inside the first MiB"),
        case_(
            "disk at 48 MiB in a 16 MiB image",
            (md, m) -> {
              m.putU32(md.mdi() + 4, 48L << 20);
              md.fixChecksum(m);
            },
            "extent [0x3000000, 0x3168000) is not wholly in the image"),
        case_(
            "table claims 4 GiB of disk in a 16 MiB image",
            (md, m) -> {
              m.putU32(md.mdi() + 8, (0xFFFFFFFFL - 0x200000) >>> 9);
              md.fixChecksum(m);
            },
            "is not wholly in the image"));
  }

  private static Arguments case_(String name, Mutation mutation, String reason) {
    return Arguments.of(name, mutation, reason);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("mutations")
  void mutationIsRejectedWithReason(String name, Mutation mutation, String reason) {
    try (GuestMemory m = Images.pc(16 << 20)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.writeTo(m);
      assertThat(MemdiskProbe.probe(m).disks()).as("valid before the mutation").hasSize(1);
      mutation.accept(md, m);

      ProbeResult r = MemdiskProbe.probe(m);

      assertThat(r.disks()).isEmpty();
      assertThat(r.rejected()).anySatisfy(x -> assertThat(x.reason()).contains(reason));
      assertThat(r.rejected()).noneMatch(x -> x.subject().equals("probe"));
    }
  }
}
