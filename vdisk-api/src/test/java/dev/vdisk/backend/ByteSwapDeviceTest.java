package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.testkit.BlockDeviceContractTest;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import java.util.Random;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ByteSwapDeviceTest {
  private static final long MIB = 1L << 20;

  @Nested
  class OverRamDiskContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      return ByteSwapDevice.of(RamDisk.create(2 * MIB));
    }
  }

  @Test
  void eachWordIsSwappedOnTheWayDownAndBackAndTheSourceStaysAsItWas() throws IOException {
    RamDisk inner = RamDisk.create(MIB);
    int length = 3 * ByteSwapDevice.SCRATCH_SIZE + 1024; // several scratch pieces plus a tail
    byte[] data = new byte[length];
    new Random(3).nextBytes(data);
    try (BlockDevice swap = ByteSwapDevice.of(inner);
        NativeBuffer src = new NativeBuffer(length);
        NativeBuffer back = new NativeBuffer(length)) {
      src.put(0, data);
      swap.write(4096, src.store(), 0, length);
      assertThat(src.get(0, length)).as("caller's source after the write").isEqualTo(data);

      inner.read(4096, back.store(), 0, length);
      byte[] stored = back.get(0, length);
      for (int i = 0; i < length; i += 2) {
        assertThat(stored[i]).as("stored byte %d", i).isEqualTo(data[i + 1]);
        assertThat(stored[i + 1]).as("stored byte %d", i + 1).isEqualTo(data[i]);
      }
      swap.read(4096, back.store(), 0, length);
      assertThat(back.get(0, length)).isEqualTo(data);
    }
  }

  @Test
  void oddOffsetsOrLengthsAreRefused() throws IOException {
    try (BlockDevice swap = ByteSwapDevice.of(RamDisk.create(MIB));
        NativeBuffer io = new NativeBuffer(1024)) {
      for (long[] r : new long[][] {{1, 512}, {0, 511}}) {
        BlockDeviceException e =
            Assertions.catchThrowableOfType(
                BlockDeviceException.class, () -> swap.write(r[0], io.store(), 0, (int) r[1]));
        assertThat(e.reason()).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(e.getMessage()).contains("aligned to 2 bytes");
      }
    }
  }

  @Test
  void swapHandlesEveryLengthAndOverlapInPlace() {
    for (int length = 0; length <= 40; length += 2) {
      try (NativeBuffer a = new NativeBuffer(64)) {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) {
          data[i] = (byte) (i + 1);
        }
        a.put(0, data);
        long address = a.store().addressForRead(0);
        ByteSwapDevice.swap(address, address, length);
        byte[] out = a.get(0, length);
        for (int i = 0; i < length; i += 2) {
          assertThat(out[i]).isEqualTo(data[i + 1]);
          assertThat(out[i + 1]).isEqualTo(data[i]);
        }
      }
    }
  }
}
