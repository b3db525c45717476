package dev.vdisk.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.memdisk.MemdiskProbe;
import dev.vdisk.memdisk.MemoryDisk;
import dev.vdisk.memdisk.MemoryDiskDevice;
import dev.vdisk.memdisk.ProbeOptions;
import dev.vdisk.memdisk.ProbeResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.zip.GZIPInputStream;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Fuzzes the MEMDISK/GRUB4DOS probe by mutating a real memory capture: the first 640 KiB of a QEMU
 * guest that booted syslinux's MEMDISK (IVT, BDA, MEMDISK's resident block and mBFT), plus a high
 * region where RAM disks can point. The fuzzer patches bytes anywhere in low memory (the comparison
 * hooks steer it to the signatures, checksums and pointers the parser tests) and fills the high
 * region.
 *
 * <p>Oracles: nothing escapes the probe (rejections are results, not exceptions); every region sits
 * between guard pages; every disk the probe accepts lies inside mapped memory and can be opened as
 * a block device whose first and last sectors read without error.
 */
class MemdiskProbeFuzzTest {
  private static final int LOW = 0xA0000;
  private static final long HIGH_BASE = 0x100000;
  private static final long HIGH_SIZE = 0x100000;
  private static final byte[] CAPTURE = loadCapture();

  /**
   * Heap bytes one probe (plus opening and reading each disk it finds) may allocate. The memory it
   * looks at is 1.6 MiB; a probe that sized anything from a length field in that memory (up to 4
   * GiB) would exceed this at once, while its own reasons and results stay far below.
   */
  private static final AllocationBudget ALLOCATION = new AllocationBudget(32 << 20);

  private static long inputs;

  /**
   * One guarded address space for the whole campaign (mapping it per input would dominate the run
   * time); every input starts from the pristine capture and an all-zero high region.
   */
  private static final GuardedMemory GUARDED = new GuardedMemory(0, LOW, HIGH_BASE, HIGH_SIZE);

  private static byte[] loadCapture() {
    try (InputStream in =
        new GZIPInputStream(
            MemdiskProbeFuzzTest.class.getResourceAsStream(
                "memdisk-6.04-floppy-base640k.bin.gz"))) {
      byte[] b = in.readAllBytes();
      if (b.length != LOW) {
        throw new IllegalStateException("capture is " + b.length + " bytes, expected " + LOW);
      }
      return b;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest(maxDuration = "30s")
  void mutatedMemdiskCapture(FuzzedDataProvider data) throws Exception {
    GuestMemory mem = GUARDED.memory();
    mem.write(0, CAPTURE, 0, LOW);
    mem.fill(HIGH_BASE, HIGH_SIZE, (byte) 0);
    {
      // The scan for disconnected mBFTs reads 65 504 candidates: one input in four pays for it.
      ProbeOptions options = ProbeOptions.DEFAULTS.withScanForMbft(data.consumeInt(0, 3) == 0);
      int patches = data.consumeInt(0, 32);
      for (int i = 0; i < patches; i++) {
        int at =
            switch (data.consumeInt(0, 3)) {
              case 0 -> data.consumeInt(0, 0x3ff); // interrupt vector table
              case 1 -> 0x9F400 + data.consumeInt(0, 0xbff); // MEMDISK's resident block + mBFT
              case 2 -> 0x400 + data.consumeInt(0, 0xff); // BIOS data area
              default -> data.consumeInt(0, LOW - 1);
            };
        byte[] bytes = data.consumeBytes(Math.min(16, LOW - at));
        mem.write(at, bytes, 0, bytes.length);
      }
      byte[] high = data.consumeRemainingAsBytes();
      mem.write(HIGH_BASE, high, 0, Math.min(high.length, (int) HIGH_SIZE));

      BytesStore<?, Void> sector = BytesStore.nativeStoreWithFixedCapacity(4096);
      ALLOCATION.start();
      ProbeResult result = MemdiskProbe.probe(mem.readOnlyView(), options);
      try {
        for (MemoryDisk disk : result.disks()) {
          try (MemoryDiskDevice device = MemoryDiskDevice.readOnly(mem.readOnlyView(), disk)) {
            int bs = device.blockSize();
            device.read(0, sector, 0, bs);
            device.read(device.size() - bs, sector, 0, bs);
          }
        }
        ALLOCATION.check("probe and disk reads");
      } finally {
        sector.releaseLast();
      }
      if ((++inputs & 0x3ff) == 0) {
        System.err.printf(
            "oracle: %d inputs, worst allocation %d bytes (%d inputs loaded classes)%n",
            inputs, ALLOCATION.worst(), ALLOCATION.skipped());
      }
    }
  }
}
