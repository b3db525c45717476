package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GuestMemoryTest {

  @Test
  void littleEndianAccessorsRoundTripAndWiden() {
    try (GuestMemory mem = GuestMemory.allocate(0x1000, 0x1000)) {
      mem.putU64(0x1000, 0x8877665544332211L);
      assertThat(mem.u8(0x1000)).isEqualTo(0x11);
      assertThat(mem.u16(0x1000)).isEqualTo(0x2211);
      assertThat(mem.u32(0x1004)).isEqualTo(0x88776655L);
      assertThat(mem.u64(0x1000)).isEqualTo(0x8877665544332211L);
      mem.putU16(0x1ffe, 0xfffe);
      assertThat(mem.lvU16(0x1ffe)).isEqualTo(0xfffe);
    }
  }

  @Test
  void accessCrossingTheRegionEndIsRefusedWithTheAddressInTheMessage() {
    try (GuestMemory mem = GuestMemory.allocate(0x1000, 0x1000)) {
      assertThatThrownBy(() -> mem.u32(0x1ffe))
          .isInstanceOf(GuestMemoryException.class)
          .hasMessageContaining("0x1ffe")
          .hasMessageContaining("[0x1000..0x1fff]");
      assertThatThrownBy(() -> mem.u8(0xfff)).isInstanceOf(GuestMemoryException.class);
      assertThatThrownBy(() -> mem.u8(-1L)).isInstanceOf(GuestMemoryException.class);
    }
  }

  @Test
  void overlappingRegionsAreRejectedAtConstruction() {
    MemoryRegion a = MemoryRegion.allocate(0, 0x2000);
    MemoryRegion b = MemoryRegion.allocate(0x1000, 0x1000);
    try {
      assertThatThrownBy(() -> GuestMemory.of(a, b))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("overlap");
    } finally {
      a.close();
      b.close();
    }
  }
}
