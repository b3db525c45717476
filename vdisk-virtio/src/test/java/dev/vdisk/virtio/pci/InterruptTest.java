package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.*;
import static dev.vdisk.virtio.pci.PciHeader.*;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InterruptTest {
  private static final int MSIX_CTL = 0x98 + VirtioPciCap.MSIX_MESSAGE_CONTROL;

  private static void programVector(Bench b, int v, long address, int data, boolean masked) {
    long t = b.layout.msixTable().offset() + 16L * v;
    b.pci.barWrite(b.bar, t, 4, address);
    b.pci.barWrite(b.bar, t + 4, 4, address >>> 32);
    b.pci.barWrite(b.bar, t + 8, 4, data);
    b.pci.barWrite(b.bar, t + 12, 4, masked ? 1 : 0);
  }

  @Test
  void intxFollowsTheIsrAndIsReadToClear() {
    try (Bench b = new Bench()) {
      b.bringUp(16);
      assertThat(b.sink.intx).isFalse();
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.intx).isTrue();
      assertThat(b.pci.configRead(STATUS, 2) & STATUS_INTERRUPT).isNotZero();
      // wide or offset reads peek without clearing
      assertThat(b.pci.barRead(b.bar, b.layout.isrCfg().offset(), 4)).isEqualTo(1);
      assertThat(b.pci.barRead(b.bar, b.layout.isrCfg().offset() + 1, 1)).isZero();
      assertThat(b.count(PciCounter.ISR_BAD_READ)).isEqualTo(2);
      assertThat(b.sink.intx).isTrue();
      assertThat(b.readIsr()).isEqualTo(1);
      assertThat(b.sink.intx).isFalse();
      assertThat(b.readIsr()).isZero();
      assertThat(b.pci.configRead(STATUS, 2) & STATUS_INTERRUPT).isZero();
      // both causes in one read
      b.device.notifier.usedBuffers(1);
      b.device.notifier.configChanged();
      assertThat(b.readIsr()).isEqualTo(3);
      // the ISR is read-only
      b.pci.barWrite(b.bar, b.layout.isrCfg().offset(), 1, 0xFF);
      assertThat(b.count(PciCounter.REGISTER_READ_ONLY_WRITE)).isEqualTo(1);
      assertThat(b.sink.intxAsserts).isEqualTo(2);
    }
  }

  @Test
  void intxDisableGatesTheLineButKeepsTheState() {
    try (Bench b = new Bench()) {
      b.bringUp(16);
      b.pci.configWrite(COMMAND, 2, COMMAND_MEMORY | COMMAND_BUS_MASTER | COMMAND_INTX_DISABLE);
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.intx).isFalse();
      assertThat(b.pci.configRead(STATUS, 2) & STATUS_INTERRUPT).as("status shows it").isNotZero();
      b.pci.configWrite(COMMAND, 2, COMMAND_MEMORY | COMMAND_BUS_MASTER);
      assertThat(b.sink.intx).isTrue();
      b.readIsr();
      assertThat(b.sink.intx).isFalse();
    }
  }

  @Test
  void msixDeliversPerVectorAndSuppressesIntx() {
    try (Bench b = new Bench()) { // 3 vectors: 0 config, 1 queue 0, 2 queue 1
      programVector(b, 0, 0xFEE0_0000L, 0x40, false);
      programVector(b, 1, 0xFEE0_1000L, 0x41, false);
      programVector(b, 2, 0x1_FEE0_2000L, 0x42, false);
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE);
      b.negotiate(b.device.features);
      b.common(CONFIG_MSIX_VECTOR, 2, 0);
      for (int q = 0; q < 2; q++) {
        b.common(QUEUE_SELECT, 2, q);
        b.common(QUEUE_MSIX_VECTOR, 2, q + 1);
        b.setupQueue(q, 16);
      }
      b.status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
      b.device.notifier.usedBuffers(1);
      b.device.notifier.usedBuffers(0);
      b.device.notifier.configChanged();
      assertThat(b.sink.messages)
          .containsExactly(
              new RecordingSink.Msi(0x1_FEE0_2000L, 0x42),
              new RecordingSink.Msi(0xFEE0_1000L, 0x41),
              new RecordingSink.Msi(0xFEE0_0000L, 0x40));
      assertThat(b.sink.intxAsserts).isZero();
      assertThat(b.pci.stats().interruptMode()).isEqualTo(InterruptMode.MSIX);
      assertThat(b.pci.stats().queue0Vector()).isEqualTo(1);
      assertThat(b.pci.stats().configVector()).isZero();
      assertThat(b.pci.stats().msixVectors()).isEqualTo(3);
      // The ISR is still set (QEMU does the same); reading it clears it.
      assertThat(b.readIsr()).isEqualTo(3);
      // NO_VECTOR: no interrupt at all
      b.common(QUEUE_SELECT, 2, 0);
      b.common(QUEUE_MSIX_VECTOR, 2, NO_VECTOR);
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.messages).hasSize(3);
      assertThat(b.count(PciCounter.INTERRUPT_NO_VECTOR)).isEqualTo(1);
      // disabling MSI-X falls back to INTx with the pending ISR
      b.pci.configWrite(MSIX_CTL, 2, 0);
      assertThat(b.sink.intx).isTrue();
      assertThat(b.pci.stats().interruptMode()).isEqualTo(InterruptMode.INTX);
    }
  }

  @Test
  void maskedVectorsGoToThePbaAndAreSentOnUnmask() {
    try (Bench b = new Bench()) {
      programVector(b, 1, 0xFEE0_1000L, 0x41, true);
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE);
      b.negotiate(b.device.features);
      b.common(QUEUE_SELECT, 2, 0);
      b.common(QUEUE_MSIX_VECTOR, 2, 1);
      b.setupQueue(0, 16);
      b.status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
      long pba = b.layout.msixPba().offset();
      b.device.notifier.usedBuffers(0);
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.messages).isEmpty();
      assertThat(b.pci.barRead(b.bar, pba, 8)).isEqualTo(0b10);
      assertThat(b.pci.barRead(b.bar, pba, 4)).isEqualTo(0b10);
      b.pci.barWrite(b.bar, pba, 8, 0); // read-only
      assertThat(b.pci.barRead(b.bar, pba, 8)).isEqualTo(0b10);
      // unmask the vector: one message, pending bit cleared
      b.pci.barWrite(b.bar, b.layout.msixTable().offset() + 16 + 12, 4, 0);
      assertThat(b.sink.messages).containsExactly(new RecordingSink.Msi(0xFEE0_1000L, 0x41));
      assertThat(b.pci.barRead(b.bar, pba, 8)).isZero();
      // function mask holds every vector
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE | VirtioPciCap.MSIX_FUNCTION_MASK);
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.messages).hasSize(1);
      assertThat(b.pci.barRead(b.bar, pba, 8)).isEqualTo(0b10);
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE);
      assertThat(b.sink.messages).hasSize(2);
      assertThat(b.count(PciCounter.MSI_SENT_FROM_PBA)).isEqualTo(2);
      // table size field is read-only
      assertThat(b.pci.configRead(MSIX_CTL, 2) & 0x7FF).isEqualTo(2);
    }
  }

  @Test
  void msixTableAccessRules() {
    try (Bench b = new Bench()) {
      long t = b.layout.msixTable().offset();
      assertThat(b.pci.barRead(b.bar, t + 12, 4)).as("entries start masked").isEqualTo(1);
      b.pci.barWrite(b.bar, t, 8, 0x1234_5678_9ABC_DEF0L);
      assertThat(b.pci.barRead(b.bar, t, 8)).isEqualTo(0x1234_5678_9ABC_DEF0L);
      assertThat(b.pci.barRead(b.bar, t + 4, 4)).isEqualTo(0x1234_5678L);
      b.pci.barWrite(b.bar, t + 8, 8, 0xFFFF_FFFE_0000_0055L); // data + control (reserved bits)
      assertThat(b.pci.barRead(b.bar, t + 8, 4)).isEqualTo(0x55);
      assertThat(b.pci.barRead(b.bar, t + 12, 4)).isZero();
      // 1- and 2-byte or unaligned accesses: writes ignored, reads peek
      b.pci.barWrite(b.bar, t, 1, 0);
      b.pci.barWrite(b.bar, t + 2, 4, 0);
      b.pci.barWrite(b.bar, t + 4, 8, 0);
      assertThat(b.pci.barRead(b.bar, t + 1, 1)).isEqualTo(0xDE);
      assertThat(b.count(PciCounter.REGISTER_BAD_ACCESS)).isEqualTo(4);
      assertThat(b.pci.barRead(b.bar, t, 8)).isEqualTo(0x1234_5678_9ABC_DEF0L);
    }
  }

  @Test
  void busMasterOffBlocksMessages() {
    try (Bench b = new Bench()) {
      programVector(b, 1, 0xFEE0_1000L, 0x41, false);
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE);
      b.negotiate(b.device.features);
      b.common(QUEUE_SELECT, 2, 0);
      b.common(QUEUE_MSIX_VECTOR, 2, 1);
      b.bringUpQueuesOnly();
      b.pci.configWrite(COMMAND, 2, COMMAND_MEMORY);
      b.device.notifier.usedBuffers(0);
      assertThat(b.sink.messages).isEmpty();
      assertThat(b.count(PciCounter.INTERRUPT_BUS_MASTER_OFF)).isEqualTo(1);
    }
  }

  @Test
  void functionResetRestoresPowerOnState() {
    try (Bench b = new Bench()) {
      programVector(b, 0, 0xFEE0_0000L, 0x40, false);
      b.pci.configWrite(MSIX_CTL, 2, VirtioPciCap.MSIX_ENABLE);
      b.bringUp(16);
      b.pci.resetFunction();
      assertThat(b.pci.configRead(COMMAND, 2)).isZero();
      assertThat(b.pci.barAddress()).isZero();
      assertThat(b.pci.configRead(MSIX_CTL, 2)).isEqualTo(2);
      assertThat(b.pci.stats().deviceStatus()).isZero();
      assertThat(b.pci.configRead(VENDOR_ID, 4)).isEqualTo(0x1042_1AF4L);
      b.pci.configWrite(barOffset(b.bar), 4, Bench.BAR_BASE);
      b.pci.configWrite(COMMAND, 2, COMMAND_MEMORY);
      assertThat(b.pci.barRead(b.bar, b.layout.msixTable().offset() + 12, 4)).isEqualTo(1);
      assertThat(b.count(PciCounter.FUNCTION_RESETS)).isEqualTo(1);
    }
  }
}
