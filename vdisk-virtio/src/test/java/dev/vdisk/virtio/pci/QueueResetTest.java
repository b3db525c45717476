package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioFeatures;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** VIRTIO_F_RING_RESET (virtio 1.2 §2.6.1): offered only to devices that can restart a queue. */
class QueueResetTest {
  static final long FEATURES =
      VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_RESET);

  static final class RestartableDevice extends FakeVirtioDevice implements QueueRestart {
    final List<QueueSetup> restarts = new CopyOnWriteArrayList<>();

    RestartableDevice() {
      super(FEATURES, 2, 256, 8);
    }

    @Override
    public void restartQueue(QueueSetup queue) {
      restarts.add(queue);
    }
  }

  @Test
  void notOfferedWhenTheDeviceCannotRestartAQueue() {
    try (Bench b =
        new Bench(new FakeVirtioDevice(FEATURES, 1, 64, 8), PciProfile.DEFAULT, BarWidth.BITS_64)) {
      assertThat(b.pci.stats().offeredFeatures()).isEqualTo(VirtioFeatures.bit(32));
      b.bringUp(16);
      b.common(QUEUE_RESET, 2, 1);
      assertThat(b.count(PciCounter.QUEUE_RESET_INVALID)).isEqualTo(1);
      assertThat(b.common(QUEUE_ENABLE, 2)).isEqualTo(1);
    }
  }

  @Test
  void resetStopsTheQueueAndReEnableRestartsIt() {
    RestartableDevice dev = new RestartableDevice();
    try (Bench b = new Bench(dev, PciProfile.DEFAULT, BarWidth.BITS_64)) {
      assertThat(b.pci.stats().offeredFeatures()).isEqualTo(FEATURES);
      b.bringUp(16);
      b.common(QUEUE_SELECT, 2, 1);
      b.common(QUEUE_RESET, 2, 2); // only 1 is meaningful
      assertThat(b.count(PciCounter.QUEUE_RESET_INVALID)).isEqualTo(1);
      b.common(QUEUE_RESET, 2, 1);
      assertThat(dev.stops).isEqualTo(1);
      assertThat(b.common(QUEUE_RESET, 2)).isZero();
      assertThat(b.common(QUEUE_ENABLE, 2)).isZero();
      assertThat(b.common(QUEUE_SIZE, 2)).isEqualTo(256);
      int kicks = dev.kicks.size();
      b.kick(1);
      assertThat(dev.kicks).hasSize(kicks); // stopped queue: no kick
      b.kick(0);
      assertThat(dev.kicks).hasSize(kicks + 1); // the other queue keeps running
      // re-configure with another size and re-enable
      b.setupQueue(1, 64);
      assertThat(dev.restarts).hasSize(1);
      assertThat(dev.restarts.get(0).size()).isEqualTo(64);
      assertThat(dev.restarts.get(0).index()).isEqualTo(1);
      b.kick(1);
      assertThat(dev.kicks).hasSize(kicks + 2);
      assertThat(b.count(PciCounter.QUEUE_ENABLE_AFTER_DRIVER_OK)).isZero();
    }
  }
}
