package dev.vdisk.memdisk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.testkit.BlockDeviceContractTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;

/**
 * vdisk-api's block-device contract run against RAM-disk views the probe found: a writable hard
 * disk, a read-only one, a 2048-byte-sector CD, and a disk that spans two memory regions.
 */
class MemoryDiskDeviceContractTest {

  /** Writes a MEMDISK with the given shape, probes it, and opens its one disk. */
  static BlockDevice probeAndOpen(GuestMemory memory, SyntheticMemdisk md) {
    md.writeTo(memory);
    ProbeResult r = MemdiskProbe.probe(memory);
    assertThat(r.rejected()).isEmpty();
    assertThat(r.disks()).hasSize(1);
    return MemoryDiskDevice.open(memory, r.disks().get(0));
  }

  static SyntheticMemdisk hardDisk(long diskbuf, long sectors) {
    SyntheticMemdisk md = new SyntheticMemdisk();
    md.diskbuf = diskbuf;
    md.disksize = sectors;
    md.driveno = 0x80;
    md.cylinders = (int) (sectors / (16 * 63));
    md.heads = 16;
    md.sectors = 63;
    return md;
  }

  @Nested
  class WritableHardDisk extends BlockDeviceContractTest {
    private GuestMemory memory;

    @Override
    protected BlockDevice createDevice() {
      memory = Images.pc(8 << 20);
      return probeAndOpen(memory, hardDisk(0x200000, 8 * 16 * 63));
    }

    @AfterEach
    void freeMemory() {
      memory.close();
    }
  }

  @Nested
  class ReadOnlyHardDisk extends BlockDeviceContractTest {
    private GuestMemory memory;

    @Override
    protected BlockDevice createDevice() {
      memory = Images.pc(8 << 20);
      SyntheticMemdisk md = hardDisk(0x200000, 8 * 16 * 63);
      md.configflags = 0x05; // ro
      BlockDevice d = probeAndOpen(memory, md);
      assertThat(d.isReadOnly()).isTrue();
      return d;
    }

    @AfterEach
    void freeMemory() {
      memory.close();
    }
  }

  @Nested
  class NoEmulationCdrom extends BlockDeviceContractTest {
    private GuestMemory memory;

    @Override
    protected BlockDevice createDevice() {
      memory = Images.pc(8 << 20);
      SyntheticMemdisk md = new SyntheticMemdisk();
      md.diskbuf = 0x200000;
      md.sectorShift = 11;
      md.disksize = 1024; // 2 MiB
      md.driveno = 0xE0;
      md.cylinders = 65535;
      md.heads = 255;
      md.sectors = 15;
      BlockDevice d = probeAndOpen(memory, md);
      assertThat(d.blockSize()).isEqualTo(2048);
      return d;
    }

    @AfterEach
    void freeMemory() {
      memory.close();
    }
  }

  @Nested
  class DiskAcrossTwoRegions extends BlockDeviceContractTest {
    private GuestMemory memory;

    @Override
    protected BlockDevice createDevice() {
      memory =
          GuestMemory.of(
              MemoryRegion.allocate(0, 3 << 20), MemoryRegion.allocate(3 << 20, 5 << 20));
      memory.putU32(0x4C, Images.BIOS_INT13);
      return probeAndOpen(memory, hardDisk(0x200000, 8 * 16 * 63)); // 2 MiB .. 6 MiB
    }

    @AfterEach
    void freeMemory() {
      memory.close();
    }
  }
}
