package dev.vdisk.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDevices;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.api.MemoryRegion;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import dev.vdisk.virtio.driver.InterruptLatch;
import dev.vdisk.virtio.driver.PciVirtioBlkDriver;
import dev.vdisk.virtio.pci.PciFunction;
import dev.vdisk.virtio.pci.VirtioPciDevice;
import java.util.Arrays;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;

/**
 * The embedding example of the repository's README.md, line for line, driven by the in-process
 * guest driver through the VMM's exit-handler path ({@code claims}/{@code mmioRead}/{@code
 * mmioWrite} with guest-physical addresses). If this test needs changing, so does the README.
 */
class ReadmeEmbeddingTest {
  private static final long GUEST_RAM = 64L << 20;

  @Test
  void readmeExampleServesAGuestDriver() throws Exception {
    BytesStore<?, Void> vmmRam = BytesStore.nativeStoreWithFixedCapacity(GUEST_RAM);
    vmmRam.zeroOut(0, GUEST_RAM);
    long hostAddr = vmmRam.addressForRead(0);
    long guestRamBytes = GUEST_RAM;
    InterruptLatch vmmInterrupts = new InterruptLatch();
    try (GuestMemory ram =
            GuestMemory.of(MemoryRegion.wrap(0, hostAddr, guestRamBytes, true, null));
        BlockDevice disk = BlockDevices.open("ram:1G")) {
      // --- README lines ---
      VirtioBlkDevice blk = VirtioBlkDevice.builder(disk).queues(2).serial("vdisk0").build();
      VirtioPciDevice pci =
          VirtioPciDevice.builder(blk).guestMemory(ram).interruptSink(vmmInterrupts).build();
      // --- end of README lines ---

      // The VMM's side: config space straight through, BAR accesses by guest-physical address.
      PciFunction exitHandler =
          new PciFunction() {
            @Override
            public long configRead(int offset, int size) {
              return pci.configRead(offset, size);
            }

            @Override
            public void configWrite(int offset, int size, long value) {
              pci.configWrite(offset, size, value);
            }

            @Override
            public long barRead(int bar, long offset, int size) {
              long gpa = pci.barBase(bar) + offset;
              return pci.claims(gpa, size) ? pci.mmioRead(gpa, size) : -1L;
            }

            @Override
            public void barWrite(int bar, long offset, int size, long value) {
              long gpa = pci.barBase(bar) + offset;
              if (pci.claims(gpa, size)) {
                pci.mmioWrite(gpa, size, value);
              }
            }
          };
      PciVirtioBlkDriver guest =
          PciVirtioBlkDriver.builder(exitHandler, ram, vmmInterrupts)
              .dmaArea(1 << 20, 32 << 20)
              .queues(2)
              .build()
              .initialize();

      byte[] data = new byte[4096];
      Arrays.fill(data, (byte) 0x5A);
      assertThat(guest.write(1, 2048, data)).isZero();
      byte[] back = new byte[4096];
      assertThat(guest.read(0, 2048, back)).isZero();
      assertThat(back).isEqualTo(data);
      byte[] serial = new byte[20];
      assertThat(guest.getId(0, serial)).isZero();
      assertThat(new String(serial, 0, 6, java.nio.charset.StandardCharsets.US_ASCII))
          .isEqualTo("vdisk0");
      assertThat(blk.stats().queue(1).bytesOut()).isEqualTo(4096);
      assertThat(blk.stats().queue(0).bytesIn()).isGreaterThanOrEqualTo(4096);
      assertThat(blk.stats().queue(0).totalErrors()).isZero();
      assertThat(vmmInterrupts.messages()).as("MSI-X messages the VMM received").isPositive();
    } finally {
      vmmRam.releaseLast();
    }
  }
}
