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

  @Test
  void readOnlyViewIsASeparateObjectWhoseRegionsRefuseWrites() {
    try (GuestMemory mem = GuestMemory.allocate(0x1000, 0x1000)) {
      mem.putU32(0x1000, 0xcafe_f00dL);
      ReadableGuestMemory view = mem.readOnlyView();
      assertThat(view).isNotInstanceOf(GuestMemory.class);
      assertThat(view.u32(0x1000)).isEqualTo(0xcafe_f00dL);
      assertThat(view.region(0).isWritable()).isFalse();
      assertThat(view.regionFor(0x1000, 4).isWritable()).isFalse();
      assertThat(view.slice(0x1000, 4).writable()).isFalse();
      assertThat(mem.slice(0x1000, 4).writable()).isTrue();
      assertThatThrownBy(() -> view.u8(0x2000)).isInstanceOf(GuestMemoryException.class);
      // Closing a view's region frees nothing: the memory is still readable.
      view.region(0).close();
      assertThat(mem.u32(0x1000)).isEqualTo(0xcafe_f00dL);
    }
  }

  @Test
  void writesToAReadOnlyRegionAreRefused() {
    MemoryRegion backing = MemoryRegion.allocate(0, 0x1000);
    try (GuestMemory mem = GuestMemory.of(MemoryRegion.of(0x10000, backing.store(), false))) {
      assertThatThrownBy(() -> mem.putU8(0x10000, 1))
          .isInstanceOf(GuestMemoryException.class)
          .hasMessageContaining("read-only");
      assertThatThrownBy(() -> mem.hostAddressForWrite(0x10000, 1))
          .isInstanceOf(GuestMemoryException.class);
      assertThat(mem.u8(0x10000)).isZero();
    } finally {
      backing.close();
    }
  }

  @Test
  void aRegionMayEndExactlyAtTheTopOfTheAddressSpace() {
    try (GuestMemory mem = GuestMemory.allocate(-0x1000L, 0x1000)) {
      mem.putU64(-8L, 0x1122334455667788L);
      assertThat(mem.u64(-8L)).isEqualTo(0x1122334455667788L);
      assertThatThrownBy(() -> mem.u64(-4L)).isInstanceOf(GuestMemoryException.class);
    }
    // A base with the top bit set is an ordinary (unsigned) address, not a wrap.
    try (GuestMemory mem = GuestMemory.allocate(0x7fff_ffff_ffff_f000L, 0x2000)) {
      mem.putU8(0x8000_0000_0000_0fffL, 7);
      assertThat(mem.u8(0x8000_0000_0000_0fffL)).isEqualTo(7);
    }
  }

  @Test
  void badRegionsFailAtConstructionNamingTheValue() {
    assertThatThrownBy(() -> MemoryRegion.allocate(0, -4096))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-4096")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> MemoryRegion.allocate(-0x1000L, 0x2000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0xfffffffffffff000")
        .hasMessageContaining("wraps");
    assertThatThrownBy(() -> MemoryRegion.wrap(0, 0, 4096, true, null))
        .hasMessageContaining("host address 0");
    assertThatThrownBy(() -> GuestMemory.of(java.util.List.of()))
        .hasMessageContaining("at least one region");
    MemoryRegion a = MemoryRegion.allocate(0x1000, 0x1000);
    MemoryRegion b = MemoryRegion.allocate(0x1fff, 0x10);
    try {
      assertThatThrownBy(() -> GuestMemory.of(b, a))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("[0x1000..0x1fff]")
          .hasMessageContaining("[0x1fff..0x200e]")
          .hasMessageContaining("expected: non-overlapping");
    } finally {
      a.close();
      b.close();
    }
  }

  @Test
  void closingARegionTwiceRunsTheUnmapperOnce() {
    java.util.concurrent.atomic.AtomicInteger unmaps =
        new java.util.concurrent.atomic.AtomicInteger();
    MemoryRegion owner = MemoryRegion.allocate(0, 4096);
    try {
      MemoryRegion wrapped =
          MemoryRegion.wrap(0, owner.hostAddress(), 4096, true, unmaps::incrementAndGet);
      wrapped.close();
      wrapped.close();
      assertThat(unmaps.get()).isEqualTo(1);
    } finally {
      owner.close();
      owner.close(); // an owned store released twice would throw
    }
  }
}
