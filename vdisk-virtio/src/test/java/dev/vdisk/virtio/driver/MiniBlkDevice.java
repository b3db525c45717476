package dev.vdisk.virtio.driver;

import dev.vdisk.api.GuestMemory;
import dev.vdisk.virtio.DeviceNotifier;
import dev.vdisk.virtio.QueueSetup;
import dev.vdisk.virtio.VirtioDevice;
import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.QueueSetupException;
import dev.vdisk.virtio.queue.SplitQueue;
import dev.vdisk.virtio.queue.Virtqueue;
import java.util.List;

/**
 * A deliberately small virtio-blk device for the driver-model tests that run without the real
 * {@code dev.vdisk.virtio.blk} device: IN, OUT, FLUSH and GET_ID over a byte array, UNSUPP for the
 * rest, through the real split queue. Its config space has capacity, seg_max, blk_size and
 * num_queues.
 */
final class MiniBlkDevice implements VirtioDevice {
  final long features;
  final int queues;
  final int maxQueueSize;
  final int segMax;
  final byte[] disk;
  volatile long capacitySectors;
  private SplitQueue[] active = new SplitQueue[0];
  private DescriptorChain chain;
  private GuestMemory memory;
  private DeviceNotifier notifier;
  int requests;

  MiniBlkDevice(long features, int queues, int maxQueueSize, int segMax, int diskBytes) {
    this.features = features;
    this.queues = queues;
    this.maxQueueSize = maxQueueSize;
    this.segMax = segMax;
    this.disk = new byte[diskBytes];
    this.capacitySectors = diskBytes / 512;
  }

  @Override
  public int deviceId() {
    return 2;
  }

  @Override
  public long deviceFeatures() {
    return features;
  }

  @Override
  public int queueCount() {
    return queues;
  }

  @Override
  public int maxQueueSize() {
    return maxQueueSize;
  }

  @Override
  public int configSize() {
    return 0x60;
  }

  @Override
  public long readConfig(int offset, int size) {
    byte[] c = new byte[0x60];
    put(c, 0, 8, capacitySectors);
    put(c, 0x0C, 4, segMax);
    put(c, 0x14, 4, 512);
    put(c, 0x22, 2, queues);
    long v = 0;
    for (int i = 0; i < size && offset + i < c.length; i++) {
      v |= (c[offset + i] & 0xFFL) << (8 * i);
    }
    return v;
  }

  private static void put(byte[] c, int off, int n, long v) {
    for (int i = 0; i < n; i++) {
      c[off + i] = (byte) (v >>> (8 * i));
    }
  }

  @Override
  public void writeConfig(int offset, int size, long value) {}

  @Override
  public String validateFeatures(long driverFeatures) {
    return null;
  }

  @Override
  public synchronized void activate(
      long negotiated, GuestMemory memory, List<QueueSetup> setups, DeviceNotifier notifier) {
    this.memory = memory;
    this.notifier = notifier;
    this.active = new SplitQueue[queues];
    this.chain = new DescriptorChain(1024);
    for (QueueSetup s : setups) {
      try {
        active[s.index()] =
            SplitQueue.activate(memory, s, negotiated, maxQueueSize, 1024, notifier);
      } catch (QueueSetupException e) {
        notifier.needsReset(e.getMessage());
      }
    }
  }

  /** A resize: new capacity, then a configuration-change notification. */
  void resize(long sectors) {
    capacitySectors = sectors;
    DeviceNotifier n = notifier;
    if (n != null) {
      n.configChanged();
    }
  }

  @Override
  public synchronized void queueNotified(int queue) {
    SplitQueue q = queue < active.length ? active[queue] : null;
    if (q == null) {
      return;
    }
    // Virtqueue protocol: suppress kicks while draining, re-arm, drain again if more arrived.
    int budget = 4096;
    do {
      q.disableNotifications();
      while (budget-- > 0) {
        int r = q.pop(chain);
        if (r == Virtqueue.POP_EMPTY || r == Virtqueue.POP_BROKEN) {
          break;
        }
        if (r == Virtqueue.POP_MALFORMED) {
          q.addUsed(chain.head(), 0);
          continue;
        }
        requests++;
        q.addUsed(chain.head(), execute());
      }
      q.notifyIfNeeded();
    } while (budget > 0 && q.enableNotifications());
  }

  /** Executes the chain in {@code chain}; returns used.len. */
  private int execute() {
    int n = chain.segments();
    int statusSeg = n - 1;
    long header = chain.guestAddress(0);
    int type = (int) memory.u32(header);
    long sector = memory.u64(header + 8);
    int status = 0;
    int written = 0;
    long offset = sector * 512;
    for (int s = 1; s < statusSeg; s++) {
      int len = chain.length(s);
      long gpa = chain.guestAddress(s);
      if (offset < 0 || offset + len > capacitySectors * 512 || offset + len > disk.length) {
        status = 1;
        break;
      }
      if (type == 0 && chain.isWritable(s)) {
        memory.write(gpa, disk, (int) offset, len);
        written += len;
      } else if (type == 1 && !chain.isWritable(s)) {
        memory.read(gpa, disk, (int) offset, len);
      } else if (type == 8 && chain.isWritable(s)) {
        byte[] id = "mini-serial".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] out = new byte[len];
        System.arraycopy(id, 0, out, 0, Math.min(id.length, len));
        memory.write(gpa, out, 0, len);
        written += len;
        continue;
      } else {
        status = 1;
        break;
      }
      offset += len;
    }
    if (type != 0 && type != 1 && type != 4 && type != 8) {
      status = 2;
    }
    memory.putU8(chain.guestAddress(statusSeg), status);
    return written + 1;
  }

  @Override
  public int stopQueue(int queue) {
    return 0;
  }

  @Override
  public synchronized void reset() {
    active = new SplitQueue[0];
    notifier = null;
  }

  SplitQueue queue(int q) {
    return active[q];
  }
}
