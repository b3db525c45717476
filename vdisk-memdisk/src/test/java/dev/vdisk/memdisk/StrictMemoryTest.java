package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.GuestMemoryException;
import org.junit.jupiter.api.Test;

/** The property tests' instrument must see a refused read, or "zero refusals" proves nothing. */
class StrictMemoryTest {
  @Test
  void countsEveryRefusedAccess() {
    try (GuestMemory m = GuestMemory.allocate(0, 4096)) {
      StrictMemory s = new StrictMemory(m);
      assertThat(s.u32(4092)).isZero();
      assertThatThrownBy(() -> s.u32(4093)).isInstanceOf(GuestMemoryException.class);
      assertThatThrownBy(() -> s.u64(-1)).isInstanceOf(GuestMemoryException.class);
      assertThat(s.refused).isEqualTo(2);
      assertThat(s.firstRefusal).contains("0xffd+4");
    }
  }
}
