package dev.vdisk.remote.aoe;

import static dev.vdisk.remote.aoe.AoeFrames.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * An in-process AoE target behind a {@link FrameChannel}: it answers Query Config, IDENTIFY and
 * READ/WRITE EXT over a byte array, without padding its answers (like vblade on veth). A {@link
 * #mutator} may rewrite or drop each answer to play a broken target.
 */
final class FakeAoeTarget implements FrameChannel {
  static final byte[] INITIATOR = {2, 0, 0, 0, 0, 1};
  static final byte[] TARGET = {2, 0, 0, 0, 0, 2};

  final byte[] disk;
  final int shelf;
  final int slot;
  final int sectorsPerFrame;
  final int bufferCount;
  final List<Integer> sentLengths = new ArrayList<>();
  volatile int requests;

  /** (request, answer) -> answer to send, or null to send nothing. */
  volatile BiFunction<ByteBuffer, ByteBuffer, ByteBuffer> mutator = (req, ans) -> ans;

  private final LinkedBlockingQueue<byte[]> toInitiator = new LinkedBlockingQueue<>();

  FakeAoeTarget(int size, int shelf, int slot, int sectorsPerFrame, int bufferCount) {
    this.disk = new byte[size];
    this.shelf = shelf;
    this.slot = slot;
    this.sectorsPerFrame = sectorsPerFrame;
    this.bufferCount = bufferCount;
  }

  @Override
  public byte[] mac() {
    return INITIATOR.clone();
  }

  @Override
  public int mtu() {
    return 1500;
  }

  @Override
  public synchronized boolean send(long address, int length) {
    sentLengths.add(length);
    byte[] b = new byte[length];
    new com.sun.jna.Pointer(address).read(0, b, 0, length);
    ByteBuffer req = ByteBuffer.wrap(b);
    requests++;
    ByteBuffer ans = answer(req);
    if (ans != null) {
      ans = mutator.apply(req, ans);
    }
    if (ans != null) {
      byte[] out = new byte[ans.limit()];
      ans.get(0, out);
      toInitiator.add(out);
    }
    return true;
  }

  @Override
  public int receive(long address, int capacity) {
    try {
      byte[] f = toInitiator.poll(2, TimeUnit.MILLISECONDS);
      if (f == null) {
        return -1;
      }
      int n = Math.min(capacity, f.length);
      new com.sun.jna.Pointer(address).write(0, f, 0, n);
      return n;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Injects a raw frame towards the initiator. */
  void inject(byte[] frame) {
    toInitiator.add(frame);
  }

  private ByteBuffer answer(ByteBuffer req) {
    int major = Short.toUnsignedInt(req.getShort(MAJOR));
    int minor = Byte.toUnsignedInt(req.get(MINOR));
    if ((major != shelf && major != SHELF_ANY) || (minor != slot && minor != SLOT_ANY)) {
      return null;
    }
    int command = req.get(COMMAND);
    if (command == CMD_QUERY_CONFIG) {
      ByteBuffer a = reply(req, QC_HEADER);
      a.putShort(QC_BUFCNT, (short) bufferCount).putShort(QC_FIRMWARE, (short) 0x4019);
      a.put(QC_SECTORS, (byte) sectorsPerFrame)
          .put(QC_VER_CCMD, (byte) 0x10)
          .putShort(QC_LENGTH, (short) 0);
      return a;
    }
    if (command != CMD_ATA) {
      ByteBuffer a = reply(req, HEADER);
      a.put(VER_FLAGS, (byte) 0x1C).put(ERROR, (byte) 1);
      return a;
    }
    int ata = Byte.toUnsignedInt(req.get(ATA_CMD_STATUS));
    int count = Byte.toUnsignedInt(req.get(ATA_COUNT));
    long lba = 0;
    for (int i = 5; i >= 0; i--) {
      lba = lba << 8 | Byte.toUnsignedInt(req.get(ATA_LBA + i));
    }
    switch (ata) {
      case ATA_IDENTIFY -> {
        ByteBuffer a = reply(req, ATA_HEADER + SECTOR);
        a.put(ATA_CMD_STATUS, (byte) ATA_STATUS_DRDY);
        a.put(ATA_DATA + 83 * 2 + 1, (byte) (1 << 2)); // word 83 bit 10: LBA48
        long sectors = disk.length / SECTOR;
        for (int i = 0; i < 8; i++) {
          a.put(ATA_DATA + 200 + i, (byte) (sectors >>> (8 * i)));
        }
        return a;
      }
      case ATA_READ_EXT -> {
        ByteBuffer a = reply(req, ATA_HEADER + count * SECTOR);
        a.put(ATA_CMD_STATUS, (byte) ATA_STATUS_DRDY).put(ATA_COUNT, (byte) 0);
        a.put(ATA_DATA, disk, (int) lba * SECTOR, count * SECTOR);
        return a;
      }
      case ATA_WRITE_EXT -> {
        req.get(ATA_DATA, disk, (int) lba * SECTOR, count * SECTOR);
        ByteBuffer a = reply(req, ATA_HEADER);
        return a.put(ATA_CMD_STATUS, (byte) ATA_STATUS_DRDY).put(ATA_COUNT, (byte) 0);
      }
      default -> {
        ByteBuffer a = reply(req, ATA_HEADER);
        return a.put(ATA_CMD_STATUS, (byte) ATA_STATUS_DRDY);
      }
    }
  }

  /** A response skeleton of {@code length} bytes: addresses swapped, R flag, our shelf/slot. */
  private ByteBuffer reply(ByteBuffer req, int length) {
    ByteBuffer a = ByteBuffer.allocate(length);
    a.put(0, req, 0, Math.min(length, Math.min(req.limit(), ATA_HEADER)));
    a.put(DST, INITIATOR).put(SRC, TARGET);
    a.put(VER_FLAGS, (byte) 0x18).putShort(MAJOR, (short) shelf).put(MINOR, (byte) slot);
    return a;
  }

  @Override
  public void close() {}
}
