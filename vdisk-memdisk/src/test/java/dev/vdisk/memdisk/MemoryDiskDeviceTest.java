package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The RAM-disk view reads and writes the guest's RAM disk in place. */
class MemoryDiskDeviceTest {

  private static MemoryDisk disk(long address, long size, boolean readOnly, boolean fakeWrite) {
    return new MemoryDisk(
        0,
        DiskKind.GRUB4DOS,
        "test",
        address,
        size,
        512,
        size / 512,
        80,
        2,
        18,
        Media.FLOPPY,
        0,
        readOnly,
        false,
        fakeWrite,
        0,
        List.of());
  }

  @Test
  void readsAndWritesGoStraightToGuestMemory() throws IOException {
    try (GuestMemory m = Images.pc(4 << 20);
        NativeBuffer io = new NativeBuffer(1024)) {
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.writeTo(m);
      md.fillDisk(m);
      MemoryDisk d = MemdiskProbe.probe(m).disks().get(0);
      try (MemoryDiskDevice dev = MemoryDiskDevice.open(m, d)) {
        dev.read(512 * 7, io.store(), 0, 1024);
        for (int i = 0; i < 1024; i++) {
          assertThat(io.get(i, 1)[0]).isEqualTo(SyntheticMemdisk.pattern(512 * 7 + i));
        }
        io.fill(0, 512, (byte) 0xAB);
        dev.write(512 * 3, io.store(), 0, 512);
        assertThat(m.u8(md.diskbuf + 512 * 3)).isEqualTo(0xAB);
        assertThat(m.u8(md.diskbuf + 512 * 4 - 1)).isEqualTo(0xAB);
        assertThat(m.u8(md.diskbuf + 512 * 4)).isEqualTo(SyntheticMemdisk.pattern(512 * 4) & 0xFF);
        m.putU8(md.diskbuf + 100, 0x42); // the guest writes its RAM disk
        dev.read(0, io.store(), 0, 512);
        assertThat(io.get(100, 1)[0]).isEqualTo((byte) 0x42);
        assertThat(dev.geometry().cylinders()).isEqualTo(80);
        assertThat(dev.geometry().heads()).isEqualTo(2);
        assertThat(dev.geometry().sectorsPerTrack()).isEqualTo(18);
        assertThat(dev.disk()).isEqualTo(d);
        assertThat(dev.toString()).contains("MEMDISK at 0x200000");
      }
    }
  }

  @Test
  void fakeWriteAcceptsWritesAndDropsThem() throws IOException {
    try (GuestMemory m = Images.pc(4 << 20);
        NativeBuffer io = new NativeBuffer(512)) {
      MemoryDiskDevice dev = MemoryDiskDevice.open(m, disk(0x200000, 1 << 20, false, true));
      assertThat(dev.isReadOnly()).isFalse();
      io.fill(0, 512, (byte) 0x99);
      dev.write(0, io.store(), 0, 512);
      assertThat(m.u8(0x200000)).isZero();
      assertThatThrownBy(() -> dev.write(1 << 20, io.store(), 0, 512))
          .isInstanceOf(BlockDeviceException.class)
          .hasMessageContaining("OUT_OF_RANGE");
    }
  }

  @Test
  void readOnlyFromTheLoaderTheRegionOrTheCaller() throws IOException {
    try (GuestMemory m = Images.pc(4 << 20);
        NativeBuffer io = new NativeBuffer(512)) {
      assertThat(MemoryDiskDevice.open(m, disk(0x200000, 1 << 20, true, false)).isReadOnly())
          .isTrue();
      assertThat(MemoryDiskDevice.readOnly(m, disk(0x200000, 1 << 20, false, false)).isReadOnly())
          .isTrue();
      MemoryDiskDevice ro = MemoryDiskDevice.open(m, disk(0x200000, 1 << 20, true, true));
      assertThat(ro.isReadOnly()).isTrue();
      assertThatThrownBy(() -> ro.write(0, io.store(), 0, 512))
          .isInstanceOf(BlockDeviceException.class)
          .hasMessageContaining("READ_ONLY");
    }
    MemoryRegion low = MemoryRegion.allocate(0, 1 << 20);
    try (GuestMemory ro =
        GuestMemory.of(
            low, MemoryRegion.of(1 << 20, MemoryRegion.allocate(0, 1 << 20).store(), false))) {
      assertThat(MemoryDiskDevice.open(ro, disk(1 << 20, 1 << 20, false, false)).isReadOnly())
          .isTrue();
    }
  }

  @Test
  void diskOutsideTheMemoryCannotBeOpened() {
    try (GuestMemory m = Images.pc(4 << 20)) {
      assertThatThrownBy(() -> MemoryDiskDevice.open(m, disk(3 << 20, 2 << 20, false, false)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not wholly in guest memory");
      assertThatThrownBy(() -> MemoryDiskDevice.open(m, disk(0x200000, 1000, false, false)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("multiple of 512");
    }
  }

  @Test
  void invalidLoaderGeometryFallsBackToADerivedOne() {
    MemoryDisk d =
        new MemoryDisk(
            0,
            DiskKind.MEMDISK,
            "t",
            0x200000,
            4 << 20,
            512,
            8192,
            0,
            0,
            0,
            Media.HARD_DISK,
            0x80,
            false,
            false,
            false,
            0,
            List.of());
    assertThat(d.geometry().heads()).isBetween(1, 255);
    assertThat(d.geometry().bytesPerSector()).isEqualTo(512);
  }
}
