package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommonConfigTest {
  private static final int ACK_DRV = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
  private static final int UP_TO_FEATURES = ACK_DRV | STATUS_FEATURES_OK;
  private static final int LIVE = UP_TO_FEATURES | STATUS_DRIVER_OK;

  @Test
  void featureWindows() {
    try (Bench b = new Bench()) {
      long offered = b.device.features;
      b.common(DEVICE_FEATURE_SELECT, 4, 0);
      assertThat(b.common(DEVICE_FEATURE, 4)).isEqualTo(offered & 0xFFFF_FFFFL);
      b.common(DEVICE_FEATURE_SELECT, 4, 1);
      assertThat(b.common(DEVICE_FEATURE, 4)).isEqualTo(offered >>> 32);
      assertThat(b.common(DEVICE_FEATURE_SELECT, 4)).isEqualTo(1);
      b.common(DEVICE_FEATURE_SELECT, 4, 2);
      assertThat(b.common(DEVICE_FEATURE, 4)).isZero();
      b.common(DEVICE_FEATURE_SELECT, 4, 0xFFFF_FFFFL);
      assertThat(b.common(DEVICE_FEATURE, 4)).isZero();
      b.common(DEVICE_FEATURE, 4, 0x1234);
      assertThat(b.count(PciCounter.REGISTER_READ_ONLY_WRITE)).isEqualTo(1);
      // driver_feature windows read back what was written
      b.common(DRIVER_FEATURE_SELECT, 4, 1);
      b.common(DRIVER_FEATURE, 4, 1);
      b.common(DRIVER_FEATURE_SELECT, 4, 0);
      b.common(DRIVER_FEATURE, 4, 0x1000_0000);
      assertThat(b.common(DRIVER_FEATURE, 4)).isEqualTo(0x1000_0000);
      b.common(DRIVER_FEATURE_SELECT, 4, 1);
      assertThat(b.common(DRIVER_FEATURE, 4)).isEqualTo(1);
      b.common(DRIVER_FEATURE_SELECT, 4, 5);
      b.common(DRIVER_FEATURE, 4, 0xFF);
      assertThat(b.common(DRIVER_FEATURE, 4)).isZero();
      assertThat(b.count(PciCounter.FEATURE_SELECT_OUT_OF_RANGE)).isEqualTo(1);
    }
  }

  @Test
  void transportHidesFeaturesItCannotHonour() {
    long all =
        VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_RESET)
            | VirtioFeatures.bit(VirtioFeatures.SR_IOV)
            | 1L << 39
            | 1L << 41
            | 1L << 43
            | VirtioFeatures.bit(VirtioFeatures.NOTIFICATION_DATA);
    try (Bench b =
        new Bench(new FakeVirtioDevice(all, 1, 64, 8), PciProfile.DEFAULT, BarWidth.BITS_64)) {
      assertThat(b.pci.stats().offeredFeatures())
          .isEqualTo(
              VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                  | VirtioFeatures.bit(VirtioFeatures.NOTIFICATION_DATA));
    }
  }

  @Test
  void featuresOkValidation() {
    try (Bench b = new Bench()) {
      long offered = b.device.features;
      // not a subset
      b.negotiate(offered | 1L << 12);
      assertThat(b.status() & STATUS_FEATURES_OK).isZero();
      // without VERSION_1
      b.negotiate(offered & ~VirtioFeatures.bit(VirtioFeatures.VERSION_1));
      assertThat(b.status() & STATUS_FEATURES_OK).isZero();
      // device-specific refusal
      b.device.refuseFeatures = "EVENT_IDX needs FLUSH";
      b.negotiate(offered);
      assertThat(b.status() & STATUS_FEATURES_OK).isZero();
      assertThat(b.count(PciCounter.FEATURES_REJECTED)).isEqualTo(3);
      b.device.refuseFeatures = null;
      b.negotiate(offered);
      assertThat(b.status()).isEqualTo(UP_TO_FEATURES);
      assertThat(b.pci.stats().negotiatedFeatures()).isEqualTo(offered);
      // features after FEATURES_OK are ignored
      b.common(DRIVER_FEATURE_SELECT, 4, 0);
      b.common(DRIVER_FEATURE, 4, 0);
      assertThat(b.common(DRIVER_FEATURE, 4)).isEqualTo(offered & 0xFFFF_FFFFL);
      assertThat(b.count(PciCounter.FEATURES_AFTER_FEATURES_OK)).isEqualTo(1);
    }
  }

  @Test
  void statusStateMachine() {
    try (Bench b = new Bench()) {
      b.status(STATUS_ACKNOWLEDGE);
      b.status(ACK_DRV);
      b.status(STATUS_ACKNOWLEDGE); // clears DRIVER without a reset: kept
      assertThat(b.status()).isEqualTo(ACK_DRV);
      assertThat(b.count(PciCounter.STATUS_BITS_CLEARED)).isEqualTo(1);
      b.status(ACK_DRV | STATUS_SUSPEND | 0x20);
      assertThat(b.status()).isEqualTo(ACK_DRV);
      assertThat(b.count(PciCounter.STATUS_UNSUPPORTED_BIT)).isEqualTo(1);
      // DRIVER_OK without FEATURES_OK: NEEDS_RESET, not live
      b.status(ACK_DRV | STATUS_DRIVER_OK);
      assertThat(b.status()).isEqualTo(ACK_DRV | STATUS_NEEDS_RESET);
      assertThat(b.device.activations).isEmpty();
      assertThat(b.count(PciCounter.DRIVER_OK_WITHOUT_FEATURES_OK)).isEqualTo(1);
      assertThat(b.pci.stats().needsResetReason()).contains("DRIVER_OK without FEATURES_OK");
      // FAILED may be set at any time
      b.status(ACK_DRV | STATUS_FAILED);
      assertThat(b.status() & STATUS_FAILED).isNotZero();
      // reset from any state
      int resets = b.device.resets;
      b.status(0);
      assertThat(b.status()).isZero();
      assertThat(b.device.resets).isEqualTo(resets + 1);
      assertThat(b.pci.stats().needsResetReason()).isNull();
    }
  }

  @Test
  void activationHandsOverEnabledQueuesAndKicksReachTheDevice() {
    try (Bench b = new Bench()) {
      b.negotiate(b.device.features);
      b.setupQueue(1, 64); // only queue 1
      b.kick(1); // before DRIVER_OK: not delivered
      assertThat(b.device.kicks).isEmpty();
      assertThat(b.count(PciCounter.NOTIFY_NOT_LIVE)).isEqualTo(1);
      b.status(LIVE);
      assertThat(b.device.activations).hasSize(1);
      List<QueueSetup> setups = b.device.activations.get(0);
      long base = Bench.RAM_BASE + 0x20000;
      assertThat(setups)
          .containsExactly(new QueueSetup(1, 64, base, base + 0x8000, base + 0xC000, 0, 0));
      assertThat(b.device.activatedFeatures).isEqualTo(b.device.features);
      assertThat(b.device.kicks).as("catch-up kick at DRIVER_OK").containsExactly(1);
      b.kick(1);
      b.pci.barWrite(b.bar, b.layout.notifyCfg().offset() + 4, 4, 0x8001_0001L); // 32-bit form
      b.pci.notifyQueue(1); // ioeventfd path
      assertThat(b.device.kicks).containsExactly(1, 1, 1, 1);
      b.kick(0); // not enabled
      assertThat(b.device.kicks).hasSize(4);
      assertThat(b.count(PciCounter.NOTIFY_DELIVERED)).isEqualTo(4);
      // bad doorbells
      b.pci.barWrite(b.bar, b.layout.notifyCfg().offset() + 2, 2, 0);
      b.pci.barWrite(b.bar, b.layout.notifyCfg().offset() + 4, 1, 1);
      b.pci.barWrite(b.bar, b.layout.notifyCfg().offset() + 4, 8, 1);
      b.pci.barWrite(b.bar, b.layout.notifyCfg().offset() + 4L * 2, 2, 2); // queue 2 of 2
      b.pci.notifyQueue(-1);
      b.pci.notifyQueue(7);
      assertThat(b.count(PciCounter.NOTIFY_BAD_ACCESS)).isEqualTo(6);
      assertThat(b.pci.barRead(b.bar, b.layout.notifyCfg().offset() + 4, 2)).isZero();
      // after reset the session is over: no kick reaches the device
      b.status(0);
      b.kick(1);
      assertThat(b.device.kicks).hasSize(4);
    }
  }

  @Test
  void queueSelectOutOfRange() {
    try (Bench b = new Bench()) {
      b.negotiate(b.device.features);
      b.common(QUEUE_SELECT, 2, 2);
      assertThat(b.common(QUEUE_SELECT, 2)).isEqualTo(2);
      assertThat(b.common(QUEUE_SIZE, 2)).isZero();
      assertThat(b.common(QUEUE_NOTIFY_OFF, 2)).isZero();
      assertThat(b.common(QUEUE_ENABLE, 2)).isZero();
      assertThat(b.common(QUEUE_MSIX_VECTOR, 2)).isEqualTo(NO_VECTOR);
      assertThat(b.common(QUEUE_DESC, 8)).isZero();
      b.common(QUEUE_SIZE, 2, 16);
      b.common(QUEUE_MSIX_VECTOR, 2, 0);
      b.common(QUEUE_DESC, 4, 0x1000);
      b.common(QUEUE_ENABLE, 2, 1);
      b.common(QUEUE_SELECT, 2, 0xFFFF);
      b.common(QUEUE_SIZE, 2, 16);
      assertThat(b.count(PciCounter.QUEUE_SELECT_OUT_OF_RANGE)).isEqualTo(5);
      assertThat(b.status() & STATUS_NEEDS_RESET).isZero();
    }
  }

  @Test
  void queueRegisters() {
    try (Bench b = new Bench()) {
      b.negotiate(b.device.features);
      b.common(QUEUE_SELECT, 2, 1);
      assertThat(b.common(QUEUE_SIZE, 2)).as("max after reset").isEqualTo(256);
      assertThat(b.common(QUEUE_NOTIFY_OFF, 2)).isEqualTo(1);
      assertThat(b.common(NUM_QUEUES, 2)).isEqualTo(2);
      for (int bad : new int[] {0, 3, 100, 512, 0xFFFF}) {
        b.common(QUEUE_SIZE, 2, bad);
      }
      assertThat(b.common(QUEUE_SIZE, 2)).isEqualTo(256);
      assertThat(b.count(PciCounter.QUEUE_SIZE_INVALID)).isEqualTo(5);
      b.common(QUEUE_SIZE, 2, 32);
      assertThat(b.common(QUEUE_SIZE, 2)).isEqualTo(32);
      // 64-bit fields: independent halves and one 8-byte access
      b.common(QUEUE_DESC, 4, 0x1234_5670L);
      b.common(QUEUE_DESC + 4, 4, 0x9);
      assertThat(b.common(QUEUE_DESC, 8)).isEqualTo(0x9_1234_5670L);
      assertThat(b.common(QUEUE_DESC, 4)).isEqualTo(0x1234_5670L);
      assertThat(b.common(QUEUE_DESC + 4, 4)).isEqualTo(0x9);
      b.common(QUEUE_DRIVER, 8, 0xAAAA_BBBB_CCCC_DDD0L);
      assertThat(b.common(QUEUE_DRIVER + 4, 4)).isEqualTo(0xAAAA_BBBBL);
      b.common(QUEUE_DEVICE + 4, 4, 1);
      assertThat(b.common(QUEUE_DEVICE, 8)).isEqualTo(1L << 32);
      // read-only fields
      b.common(QUEUE_NOTIFY_OFF, 2, 5);
      b.common(NUM_QUEUES, 2, 9);
      b.common(CONFIG_GENERATION, 1, 9);
      b.common(QUEUE_NOTIF_CONFIG_DATA, 2, 9);
      b.common(ADMIN_QUEUE_INDEX, 2, 9);
      b.common(0x80, 4, 9); // reserved tail of the structure
      assertThat(b.common(QUEUE_NOTIFY_OFF, 2)).isEqualTo(1);
      assertThat(b.common(0x80, 4)).isZero();
      assertThat(b.count(PciCounter.REGISTER_READ_ONLY_WRITE)).isEqualTo(6);
    }
  }

  @Test
  void wrongWidthsReadTheRegisterBytesAndNeverWrite() {
    try (Bench b = new Bench()) {
      b.common(QUEUE_SELECT, 2, 1);
      assertThat(b.common(QUEUE_SELECT, 1)).isEqualTo(1); // 1 byte of a 2-byte field
      assertThat(b.common(NUM_QUEUES, 4)).isEqualTo(2 | 0 << 16); // num_queues + status(0)
      assertThat(b.common(QUEUE_SIZE + 1, 1)).isEqualTo(1); // 256 >> 8
      b.common(QUEUE_SELECT, 4, 0); // 4-byte write to a 2-byte field: ignored
      b.common(QUEUE_SELECT + 1, 1, 0);
      b.common(DEVICE_STATUS, 2, 1);
      b.common(QUEUE_DESC + 2, 4, 1);
      b.common(QUEUE_DESC + 4, 8, 1);
      assertThat(b.common(QUEUE_SELECT, 2)).isEqualTo(1);
      assertThat(b.status()).isZero();
      assertThat(b.count(PciCounter.REGISTER_BAD_ACCESS)).isEqualTo(8);
    }
  }

  @Test
  void enablingAQueueWithBadRingsNeedsReset() {
    long ram = Bench.RAM_BASE;
    long[][] cases = {
      {ram + 8, ram + 0x8000, ram + 0xC000}, // desc misaligned
      {ram, ram + 0x8001, ram + 0xC000}, // avail misaligned
      {ram, ram + 0x8000, ram + 0xC002}, // used misaligned
      {0x1000, ram + 0x8000, ram + 0xC000}, // desc below RAM
      {ram, ram + Bench.RAM_SIZE - 4, ram + 0xC000}, // avail runs off the end
      {ram, ram + 0x8000, ram + Bench.RAM_SIZE - 8}, // used runs off the end
      {ram, ram + 0x8000, -4096L}, // wraps the address space
    };
    for (long[] c : cases) {
      try (Bench b = new Bench()) {
        b.negotiate(b.device.features);
        b.common(QUEUE_SELECT, 2, 0);
        b.common(QUEUE_SIZE, 2, 16);
        b.common(QUEUE_DESC, 8, c[0]);
        b.common(QUEUE_DRIVER, 8, c[1]);
        b.common(QUEUE_DEVICE, 8, c[2]);
        b.common(QUEUE_ENABLE, 2, 1);
        assertThat(b.common(QUEUE_ENABLE, 2)).isZero();
        assertThat(b.status() & STATUS_NEEDS_RESET).isNotZero();
        assertThat(b.count(PciCounter.QUEUE_ENABLE_BAD_RINGS)).isEqualTo(1);
        b.status(LIVE);
        assertThat(b.device.activations).as("a broken device never goes live").isEmpty();
      }
    }
  }

  @Test
  void queueEnableRulesAndWritesWhileEnabled() {
    try (Bench b = new Bench()) {
      // before FEATURES_OK
      b.status(ACK_DRV);
      b.setupQueue(0, 16);
      assertThat(b.status() & STATUS_NEEDS_RESET).isNotZero();
      b.negotiate(b.device.features);
      assertThat(b.status() & STATUS_NEEDS_RESET).isZero();
      b.setupQueue(0, 16);
      assertThat(b.common(QUEUE_ENABLE, 2)).isEqualTo(1);
      b.common(QUEUE_ENABLE, 2, 0);
      b.common(QUEUE_ENABLE, 2, 2);
      assertThat(b.count(PciCounter.QUEUE_ENABLE_INVALID_VALUE)).isEqualTo(2);
      assertThat(b.common(QUEUE_ENABLE, 2)).isEqualTo(1);
      b.common(QUEUE_SIZE, 2, 8);
      b.common(QUEUE_DESC, 4, 0);
      b.common(QUEUE_DEVICE, 8, 0);
      assertThat(b.common(QUEUE_SIZE, 2)).isEqualTo(16);
      assertThat(b.count(PciCounter.QUEUE_WRITE_WHILE_ENABLED)).isEqualTo(3);
      b.status(LIVE);
      // enabling another queue after DRIVER_OK without a queue reset: ignored
      b.setupQueue(1, 16);
      assertThat(b.common(QUEUE_ENABLE, 2)).isZero();
      assertThat(b.count(PciCounter.QUEUE_ENABLE_AFTER_DRIVER_OK)).isEqualTo(1);
      assertThat(b.device.activations.get(0)).hasSize(1);
    }
  }

  @Test
  void msixVectorRegisters() {
    try (Bench b = new Bench()) { // 3 vectors
      b.common(CONFIG_MSIX_VECTOR, 2, 2);
      assertThat(b.common(CONFIG_MSIX_VECTOR, 2)).isEqualTo(2);
      b.common(CONFIG_MSIX_VECTOR, 2, 3);
      assertThat(b.common(CONFIG_MSIX_VECTOR, 2)).isEqualTo(NO_VECTOR);
      b.common(QUEUE_SELECT, 2, 1);
      b.common(QUEUE_MSIX_VECTOR, 2, 1);
      assertThat(b.common(QUEUE_MSIX_VECTOR, 2)).isEqualTo(1);
      b.common(QUEUE_MSIX_VECTOR, 2, 0x7FF);
      assertThat(b.common(QUEUE_MSIX_VECTOR, 2)).isEqualTo(NO_VECTOR);
      assertThat(b.count(PciCounter.MSIX_VECTOR_OUT_OF_RANGE)).isEqualTo(2);
      b.common(QUEUE_MSIX_VECTOR, 2, 1);
      b.status(0); // reset unmaps every event
      assertThat(b.common(QUEUE_MSIX_VECTOR, 2)).isEqualTo(NO_VECTOR);
    }
    FakeVirtioDevice d = FakeVirtioDevice.standard();
    VirtioPciDevice noMsix = VirtioPciDevice.builder(d).msixVectors(0).build();
    noMsix.configWrite(PciHeader.barOffset(4), 4, Bench.BAR_BASE);
    noMsix.configWrite(PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY);
    noMsix.barWrite(4, CONFIG_MSIX_VECTOR, 2, 0);
    assertThat(noMsix.barRead(4, CONFIG_MSIX_VECTOR, 2)).isEqualTo(NO_VECTOR);
    assertThat(noMsix.configRead(0x84 + 1, 1)).as("PCI_CFG is the last cap").isZero();
  }

  @Test
  void resetFromAnyStateIncludingMidRequest() {
    try (Bench b = new Bench()) {
      int[] states = {0, STATUS_ACKNOWLEDGE, ACK_DRV, UP_TO_FEATURES, LIVE};
      for (int st : states) {
        if (st == LIVE) {
          b.bringUp(16);
        } else if ((st & STATUS_FEATURES_OK) != 0) {
          b.negotiate(b.device.features);
          b.setupQueue(0, 16);
        } else {
          b.status(st);
        }
        int resets = b.device.resets;
        b.status(0);
        assertThat(b.device.resets).isEqualTo(resets + 1);
        assertThat(b.status()).isZero();
        assertThat(b.common(QUEUE_ENABLE, 2)).isZero();
        assertThat(b.common(QUEUE_SIZE, 2)).isEqualTo(256);
        assertThat(b.common(QUEUE_DESC, 8)).isZero();
        assertThat(b.common(DRIVER_FEATURE, 4)).isZero();
        assertThat(b.common(QUEUE_SELECT, 2)).isZero();
      }
      // Mid-request: the device's notifier from the old session is dead after reset.
      b.bringUp(16);
      var oldNotifier = b.device.notifier;
      b.status(0);
      oldNotifier.usedBuffers(0);
      oldNotifier.configChanged();
      oldNotifier.needsReset("late");
      assertThat(b.readIsr()).isZero();
      assertThat(b.status()).isZero();
      assertThat(b.sink.intxAsserts).isZero();
    }
  }

  @Test
  void configGenerationChangesAfterAConfigChange() {
    try (Bench b = new Bench()) {
      b.bringUp(16);
      int gen0 = (int) b.common(CONFIG_GENERATION, 1);
      b.device.notifier.configChanged();
      int gen1 = (int) b.common(CONFIG_GENERATION, 1);
      assertThat(gen1).isNotEqualTo(gen0);
      assertThat(b.common(CONFIG_GENERATION, 1)).isEqualTo(gen1); // stable without changes
      // change between the driver's two generation reads: the second read differs
      int before = (int) b.common(CONFIG_GENERATION, 1);
      b.device.notifier.configChanged();
      b.pci.barRead(b.bar, b.layout.deviceCfg().offset(), 8); // capacity
      assertThat(b.common(CONFIG_GENERATION, 1)).isNotEqualTo(before);
      assertThat(b.pci.stats().configChanges()).isEqualTo(2);
    }
  }

  @Test
  void deviceNeedsResetRaisesAConfigInterruptWhenLive() {
    try (Bench b = new Bench()) {
      b.bringUp(16);
      b.device.notifier.needsReset("ring corrupt");
      assertThat(b.status() & STATUS_NEEDS_RESET).isNotZero();
      assertThat(b.readIsr()).isEqualTo(2);
      assertThat(b.pci.stats().needsResetReason()).contains("ring corrupt");
      b.kick(0);
      assertThat(b.count(PciCounter.NOTIFY_WHILE_BROKEN)).isEqualTo(1);
      // writing status back with NEEDS_RESET set is not "clearing bits"
      b.status(LIVE);
      assertThat(b.count(PciCounter.STATUS_BITS_CLEARED)).isZero();
    }
  }

  @Test
  void deviceExceptionsNeverReachTheVmm() {
    try (Bench b = new Bench()) {
      b.bringUp(16);
      b.device.throwOnKick = true;
      b.kick(0);
      assertThat(b.count(PciCounter.DEVICE_EXCEPTION)).isEqualTo(1);
      assertThat(b.status() & STATUS_NEEDS_RESET).isNotZero();
    }
  }

  @Test
  void busMasterGatesActivationAndKicks() {
    try (Bench b = new Bench()) {
      b.pci.configWrite(PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY);
      b.bringUp(16);
      assertThat(b.device.activations).as("no DMA before bus master").isEmpty();
      b.pci.configWrite(
          PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
      assertThat(b.device.activations).hasSize(1);
      b.pci.configWrite(PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY);
      int kicks = b.device.kicks.size();
      b.kick(0);
      assertThat(b.device.kicks).hasSize(kicks);
      assertThat(b.count(PciCounter.NOTIFY_BUS_MASTER_OFF)).isEqualTo(1);
      b.pci.configWrite(
          PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
      assertThat(b.device.kicks.size()).as("catch-up kicks").isGreaterThan(kicks);
    }
  }

  @Test
  void deviceConfigAnyWidth() {
    try (Bench b = new Bench()) {
      for (int i = 0; i < 8; i++) {
        b.device.config[i] = (byte) (0x11 * (i + 1));
      }
      long dc = b.layout.deviceCfg().offset();
      assertThat(b.pci.barRead(b.bar, dc, 8)).isEqualTo(0x8877_6655_4433_2211L);
      assertThat(b.pci.barRead(b.bar, dc + 1, 2)).isEqualTo(0x3322);
      assertThat(b.pci.barRead(b.bar, dc + 3, 1)).isEqualTo(0x44);
      assertThat(b.pci.barRead(b.bar, dc + 0x200, 4)).as("beyond the device's config").isZero();
      b.pci.barWrite(b.bar, dc + 0x20, 1, 1);
      assertThat(b.device.config[0x20]).isEqualTo((byte) 1);
    }
  }
}
