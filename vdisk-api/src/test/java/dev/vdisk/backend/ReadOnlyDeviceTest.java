package dev.vdisk.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.testkit.BlockDeviceContractTest;
import dev.vdisk.testkit.NativeBuffer;
import java.io.IOException;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ReadOnlyDeviceTest {
  private static final long MIB = 1L << 20;

  @Nested
  class OverRamDiskContract extends BlockDeviceContractTest {
    @Override
    protected BlockDevice createDevice() {
      return ReadOnlyDevice.of(RamDisk.create(2 * MIB));
    }
  }

  @Test
  void everyWriteSideOperationIsRefusedAndTheDataStays() throws IOException {
    RamDisk inner = RamDisk.create(MIB);
    try (NativeBuffer io = new NativeBuffer(4096)) {
      io.fill(0, 4096, (byte) 7);
      inner.write(0, io.store(), 0, 4096);
      try (BlockDevice ro = ReadOnlyDevice.of(inner)) {
        assertThat(ro.isReadOnly()).isTrue();
        assertThat(ro.capabilities().discard()).isFalse();
        assertThat(ro.capabilities().writeZeroes()).isFalse();
        assertThat(ro.capabilities().flush()).isFalse();
        for (ThrowingOp op :
            new ThrowingOp[] {
              () -> ro.write(0, io.store(), 0, 4096),
              () -> ro.discard(0, 4096),
              () -> ro.writeZeroes(0, 4096, true),
              () -> ro.writeZeroes(0, 4096, false),
              () -> ro.secureErase(0, 4096)
            }) {
          BlockDeviceException e =
              Assertions.catchThrowableOfType(BlockDeviceException.class, op::run);
          assertThat(e).isNotNull();
          assertThat(e.reason()).isEqualTo(Reason.READ_ONLY);
        }
        ro.flush();
        io.fill(0, 4096, (byte) 0);
        ro.read(0, io.store(), 0, 4096);
        assertThat(io.get(0, 4096)).containsOnly((byte) 7);
      }
    }
  }

  @Test
  void wrappingAReadOnlyDeviceAgainReturnsIt() {
    try (RamDisk inner = RamDisk.create(MIB)) {
      BlockDevice ro = ReadOnlyDevice.of(inner);
      assertThat(ReadOnlyDevice.of(ro)).isSameAs(ro);
    }
  }

  interface ThrowingOp {
    void run() throws IOException;
  }
}
