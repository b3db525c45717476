package dev.vdisk.qemu;

import dev.vdisk.api.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * A small PCI function for tests: vendor 0x1234 device 0x5678, BAR0 a 32-bit 4 KiB memory BAR, BAR1
 * a 32-byte I/O BAR, standard BAR sizing. BAR reads return {@code 0xA0 + offset} repeated, and
 * every access is recorded.
 */
final class FakeFunction implements ProxiedFunction {
  static final long BAR0_SIZE = 4096;
  static final long BAR1_SIZE = 32;

  final byte[] config = new byte[256];
  final List<String> log = new ArrayList<>();
  volatile GuestMemory memory;
  int resets;
  RuntimeException throwOnBarRead;
  IntxLine intx;

  FakeFunction() {
    powerOn();
  }

  private void powerOn() {
    java.util.Arrays.fill(config, (byte) 0);
    put(0x00, 2, 0x1234);
    put(0x02, 2, 0x5678);
    put(0x08, 1, 0x01);
    put(0x10, 4, 0x0); // memory, 32-bit
    put(0x14, 4, 0x1); // I/O
    put(0x3d, 1, 1);
  }

  private void put(int off, int size, long v) {
    for (int i = 0; i < size; i++) {
      config[off + i] = (byte) (v >>> (8 * i));
    }
  }

  private long get(int off, int size) {
    long v = 0;
    for (int i = 0; i < size; i++) {
      v |= (config[off + i] & 0xffL) << (8 * i);
    }
    return v;
  }

  @Override
  public long configRead(int offset, int size) {
    return get(offset, size);
  }

  @Override
  public void configWrite(int offset, int size, long value) {
    log.add(String.format("cfgw %x/%d=%x", offset, size, value));
    if (offset == 0x10 && size == 4) {
      put(0x10, 4, value & ~(BAR0_SIZE - 1));
    } else if (offset == 0x14 && size == 4) {
      put(0x14, 4, (value & ~(BAR1_SIZE - 1)) | 1);
    } else if (offset == 0x04) {
      put(offset, size, value);
    }
  }

  @Override
  public long barBase(int bar) {
    return switch (bar) {
      case 0 -> get(0x10, 4) & ~0xfL;
      case 1 -> get(0x14, 4) & ~0x3L;
      default -> 0;
    };
  }

  @Override
  public long barSize(int bar) {
    return bar == 0 ? BAR0_SIZE : bar == 1 ? BAR1_SIZE : 0;
  }

  @Override
  public boolean barIsIo(int bar) {
    return bar == 1;
  }

  @Override
  public long barRead(int bar, long offset, int size) {
    if (throwOnBarRead != null) {
      throw throwOnBarRead;
    }
    log.add(String.format("barr %d+%x/%d", bar, offset, size));
    long b = 0xA0 + offset;
    long v = 0;
    for (int i = 0; i < size; i++) {
      v |= (b & 0xff) << (8 * i);
    }
    return size < 8 ? v | 0xdead_0000_0000_0000L : v; // high garbage the server must mask off
  }

  @Override
  public void barWrite(int bar, long offset, int size, long value) {
    log.add(String.format("barw %d+%x/%d=%x", bar, offset, size, value));
  }

  @Override
  public void reset() {
    resets++;
    powerOn();
  }

  @Override
  public void memoryChanged(GuestMemory newMemory) {
    memory = newMemory;
  }
}
