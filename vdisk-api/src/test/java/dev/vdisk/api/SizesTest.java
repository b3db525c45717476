package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class SizesTest {

  @Test
  void parsesNumbersWithBinaryUnits() {
    assertThat(Sizes.parse("512")).isEqualTo(512);
    assertThat(Sizes.parse("64K")).isEqualTo(65536);
    assertThat(Sizes.parse("64k")).isEqualTo(65536);
    assertThat(Sizes.parse("64KiB")).isEqualTo(65536);
    assertThat(Sizes.parse("64KB")).isEqualTo(65536);
    assertThat(Sizes.parse(" 2G ")).isEqualTo(2L << 30);
    assertThat(Sizes.parse("1536M")).isEqualTo(1536L << 20);
    assertThat(Sizes.parse("3T")).isEqualTo(3L << 40);
    assertThat(Sizes.parse("7E")).isEqualTo(7L << 60);
    assertThat(Sizes.parse("100B")).isEqualTo(100);
    assertThat(Sizes.parse("0x10000")).isEqualTo(65536);
    assertThat(Sizes.parse("0x1B")).as("hex takes no unit: B is a digit").isEqualTo(27);
    assertThat(Sizes.parse("0")).isZero();
  }

  @Test
  void refusesWhatIsNotASizeNamingTheText() {
    for (String bad : new String[] {"", " ", "-1", "+5", "1.5G", "K", "12iB", "64X", "0x", "B"}) {
      assertThatThrownBy(() -> Sizes.parse(bad))
          .as("'%s'", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + bad + "'")
          .hasMessageContaining("expected");
    }
    assertThatThrownBy(() -> Sizes.parse("8E")).hasMessageContaining("does not fit in 64 bits");
    assertThatThrownBy(() -> Sizes.parse("99999999999999999999"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Sizes.parse(null)).hasMessageContaining("missing");
  }

  @Test
  void formatsExactlyWithTheLargestUnitThatDivides() {
    assertThat(Sizes.format(0)).isEqualTo("0");
    assertThat(Sizes.format(512)).isEqualTo("512");
    assertThat(Sizes.format(1536)).isEqualTo("1536");
    assertThat(Sizes.format(65536)).isEqualTo("64K");
    assertThat(Sizes.format(64L << 30)).isEqualTo("64G");
    assertThat(Sizes.format(1L << 62)).isEqualTo("4E");
    assertThat(Sizes.human(1536L << 20)).isEqualTo("1.5 GiB");
    assertThat(Sizes.human(100)).isEqualTo("100 B");
    assertThatThrownBy(() -> Sizes.format(-1)).hasMessageContaining("size -1");
  }

  @Property
  void formatThenParseGivesTheSameNumber(@ForAll @LongRange(min = 0) long bytes) {
    assertThat(Sizes.parse(Sizes.format(bytes))).isEqualTo(bytes);
  }

  @Property
  void unitMultiplesRoundTrip(
      @ForAll @LongRange(min = 0, max = 1 << 20) long n, @ForAll("shifts") int shift) {
    long bytes = n << shift;
    assertThat(Sizes.parse(Sizes.format(bytes))).isEqualTo(bytes);
  }

  @net.jqwik.api.Provide
  net.jqwik.api.Arbitrary<Integer> shifts() {
    return net.jqwik.api.Arbitraries.of(0, 9, 10, 20, 30, 40);
  }
}
