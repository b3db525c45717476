package dev.vdisk.virtio.pci;

import static dev.vdisk.virtio.pci.CommonCfg.*;

import dev.vdisk.api.GuestMemory;

/**
 * Test harness around one transport: guest memory at 0x1_0000..+1 MiB, the BAR placed and decoded,
 * bus mastering on, and register helpers that speak the way a driver does.
 */
final class Bench implements AutoCloseable {
  static final long RAM_BASE = 0x10000;
  static final long RAM_SIZE = 1 << 20;
  static final long BAR_BASE = 0xE000_0000L;

  final FakeVirtioDevice device;
  final RecordingSink sink = new RecordingSink();
  final GuestMemory memory = GuestMemory.allocate(RAM_BASE, RAM_SIZE);
  final VirtioPciDevice pci;
  final BarLayout layout;
  final int bar;

  Bench(FakeVirtioDevice device, PciProfile profile, BarWidth width) {
    this.device = device;
    this.pci =
        VirtioPciDevice.builder(device)
            .profile(profile)
            .barWidth(width)
            .interruptSink(sink)
            .guestMemory(memory)
            .build();
    this.layout = pci.layout();
    this.bar = layout.bar();
    pci.configWrite(PciHeader.barOffset(bar), 4, BAR_BASE);
    pci.configWrite(PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER);
  }

  Bench() {
    this(FakeVirtioDevice.standard(), PciProfile.DEFAULT, BarWidth.BITS_64);
  }

  long common(int off, int size) {
    return pci.barRead(bar, layout.commonCfg().offset() + off, size);
  }

  void common(int off, int size, long value) {
    pci.barWrite(bar, layout.commonCfg().offset() + off, size, value);
  }

  int status() {
    return (int) common(DEVICE_STATUS, 1);
  }

  void status(int value) {
    common(DEVICE_STATUS, 1, value);
  }

  int readIsr() {
    return (int) pci.barRead(bar, layout.isrCfg().offset(), 1);
  }

  void kick(int queue) {
    pci.barWrite(bar, layout.notifyCfg().offset() + 4L * queue, 2, queue);
  }

  /** ACKNOWLEDGE, DRIVER, features = everything offered, FEATURES_OK. */
  void negotiate(long features) {
    status(0);
    status(STATUS_ACKNOWLEDGE);
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    common(DRIVER_FEATURE_SELECT, 4, 0);
    common(DRIVER_FEATURE, 4, features & 0xFFFF_FFFFL);
    common(DRIVER_FEATURE_SELECT, 4, 1);
    common(DRIVER_FEATURE, 4, features >>> 32);
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  }

  /** Places queue {@code q} of {@code size} entries at fixed spots in RAM and enables it. */
  void setupQueue(int q, int size) {
    long base = RAM_BASE + 0x10000L * (q + 1);
    common(QUEUE_SELECT, 2, q);
    common(QUEUE_SIZE, 2, size);
    common(QUEUE_DESC, 4, base);
    common(QUEUE_DESC + 4, 4, 0);
    common(QUEUE_DRIVER, 4, base + 0x8000);
    common(QUEUE_DRIVER + 4, 4, 0);
    common(QUEUE_DEVICE, 8, base + 0xC000);
    common(QUEUE_ENABLE, 2, 1);
  }

  /** Full bring-up with every offered feature and every queue of {@code size}. */
  void bringUp(int size) {
    negotiate(pci.stats().offeredFeatures());
    for (int q = 0; q < device.queues; q++) {
      setupQueue(q, size);
    }
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  }

  /** Queues of 16 entries, then DRIVER_OK (features already negotiated). */
  void bringUpQueuesOnly() {
    for (int q = 0; q < device.queues; q++) {
      setupQueue(q, 16);
    }
    status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  }

  long count(PciCounter c) {
    return pci.counter(c);
  }

  @Override
  public void close() {
    memory.close();
  }
}
