package dev.vdisk.remote.aoe;

import static dev.vdisk.remote.aoe.AoeFrames.*;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.RateLimitedLog;
import dev.vdisk.remote.io.SyncWaiter;
import dev.vdisk.remote.natives.NativeBuffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.UnsafeMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An AoE target (shelf.slot on one Ethernet segment) as a block device, the role WinVBlock's AoE
 * driver plays. Discovery by Query Config, size from ATA IDENTIFY (LBA48 words 100-103), I/O as
 * READ/WRITE SECTORS EXT split into frames that fit the MTU and the target's sector count, with up
 * to the target's buffer count of frames in flight, matched by tag.
 *
 * <p>Tags have bit 31 set (so a kernel initiator on the same host ignores our responses), a 15-bit
 * generation and a 16-bit frame slot index; a response whose tag is not in flight is dropped and
 * logged. Unanswered frames are re-sent unchanged with the same tag after an adaptive timeout
 * (smoothed round trip plus four deviations, Karn's rule, doubling per retry, capped at {@link
 * #MAX_RTO_NANOS}); a request still unanswered at its deadline fails with TIMEOUT. Errors from the
 * target (AoE E flag, ATA ERR status, sectors left undone, short data) fail the request with
 * IO_ERROR naming the value.
 *
 * <p>One I/O thread receives and runs timers; submitters put frames on the wire themselves, under
 * the same lock that guards the slot table (so a frame buffer is never rewritten while being sent).
 */
public final class AoeDevice implements AsyncBlockDevice {
  private static final Logger LOG = LoggerFactory.getLogger(AoeDevice.class);

  static final int MAX_SLOTS = 64;
  static final long INITIAL_RTO_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  static final long MIN_RTO_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  static final long MAX_RTO_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long TIMER_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private static final int KIND_READ = 0;
  private static final int KIND_WRITE = 1;
  private static final int KIND_CONTROL = 2;

  private final FrameChannel channel;
  private final byte[] mac;
  private final byte[] target;
  private final int shelf;
  private final int slotNumber;
  private final String name;
  private final Duration timeout;
  private final long timeoutNanos;
  private final boolean forceReadOnly;
  private final int maxSectors;
  private final int window;
  private final int bufferCount;
  private final int firmware;
  private volatile long size;

  private final ReentrantLock lock = new ReentrantLock();
  private final Slot[] slots;
  private final int[] freeSlots;
  private int freeTop;
  private int inFlight;
  private volatile int peakInFlight;
  private final ArrayDeque<Request> pending = new ArrayDeque<>();
  private final ArrayDeque<Request> requestPool = new ArrayDeque<>();
  private final List<Request> completed = new ArrayList<>();
  private final List<Request> batch = new ArrayList<>();
  private long srtt;
  private long rttvar;
  private long rto = INITIAL_RTO_NANOS;
  private volatile long retransmissions;
  private volatile long duplicates;

  private final ByteBuffer rx;
  private final long rxAddress;
  private final Thread io;
  private volatile boolean closed;
  private final RateLimitedLog badFrames = new RateLimitedLog(LOG);

  private static final ThreadLocal<Waiter> WAITERS = ThreadLocal.withInitial(Waiter::new);

  /** One frame on the wire. */
  private static final class Slot {
    final int index;
    int generation;
    boolean inUse;
    Request request;
    int command;
    long lba;
    int sectors;
    long storeRelative;
    long firstSend;
    long lastSend;
    int retries;
    final ByteBuffer frame;
    final long frameAddress;
    int frameLength;

    Slot(int index, int capacity) {
      this.index = index;
      this.frame = ByteBuffer.allocateDirect(capacity);
      this.frameAddress = NativeBuffers.address(frame);
    }

    int tag() {
      return 0x8000_0000 | (generation & 0x7fff) << 16 | index;
    }
  }

  /** One submitted operation, split into frames. Pooled. */
  private static final class Request {
    int kind;
    long lba;
    int sectors;
    int issued;
    int outstanding;
    BytesStore<?, ?> store;
    long storeOffset;
    long deadline;
    long token;
    Completion completion;
    BlockDeviceException error;
    boolean finished;
    // Control requests: command and arg bytes to send, response bytes received.
    int controlCommand;
    byte[] controlArg;
    byte[] response;
  }

  private AoeDevice(
      FrameChannel channel, Target t, int shelf, int slot, Duration timeout, boolean readOnly) {
    this.channel = channel;
    this.mac = channel.mac();
    this.target = t.mac;
    this.shelf = shelf;
    this.slotNumber = slot;
    this.name = "e" + shelf + "." + slot + " (" + AoeFrames.mac(t.mac) + ")";
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.forceReadOnly = readOnly;
    int mtuSectors = (channel.mtu() - 22) / SECTOR;
    this.maxSectors = Math.max(1, Math.min(Math.min(mtuSectors, t.sectors), 255));
    this.bufferCount = t.bufferCount;
    this.firmware = t.firmware;
    this.window = Math.max(1, Math.min(MAX_SLOTS, t.bufferCount));
    int frameCapacity = Math.max(MIN_FRAME, ATA_HEADER + maxSectors * SECTOR);
    this.slots = new Slot[window];
    this.freeSlots = new int[window];
    for (int i = 0; i < window; i++) {
      slots[i] = new Slot(i, frameCapacity);
      freeSlots[i] = window - 1 - i;
    }
    freeTop = window;
    this.rx = ByteBuffer.allocateDirect(Math.max(channel.mtu() + 64, 2048));
    this.rxAddress = NativeBuffers.address(rx);
    this.io = new Thread(this::ioLoop, "aoe-io " + name);
    io.setDaemon(true);
  }

  /** What Query Config told us about the target. */
  record Target(byte[] mac, int bufferCount, int firmware, int sectors) {}

  /**
   * Finds shelf.slot on the channel's segment, asks its size and returns the device. Fails with an
   * IOException naming the target when nothing answers within {@code timeout}.
   */
  public static AoeDevice open(
      FrameChannel channel, int shelf, int slot, Duration timeout, boolean readOnly)
      throws IOException {
    if (shelf < 0 || shelf >= SHELF_ANY || slot < 0 || slot >= SLOT_ANY) {
      throw new IllegalArgumentException(
          "AoE address e" + shelf + "." + slot + " (expected shelf 0..65534, slot 0..254)");
    }
    if (channel.mtu() < 22 + SECTOR) {
      throw new IOException("MTU " + channel.mtu() + " cannot carry one 512-byte sector per frame");
    }
    Target t = discover(channel, shelf, slot, timeout);
    AoeDevice d = new AoeDevice(channel, t, shelf, slot, timeout, readOnly);
    d.io.start();
    try {
      d.size = d.identify();
    } catch (IOException e) {
      d.close();
      throw e;
    }
    LOG.info(
        "AoE target {}: {} bytes, buffer count {}, {} sectors per frame, firmware 0x{}",
        d.name,
        d.size,
        t.bufferCount,
        d.maxSectors,
        Integer.toHexString(t.firmware));
    return d;
  }

  /** Broadcasts Query Config (read) until shelf.slot answers. */
  static Target discover(FrameChannel ch, int shelf, int slot, Duration timeout)
      throws IOException {
    ByteBuffer tx = ByteBuffer.allocateDirect(MIN_FRAME);
    ByteBuffer in = ByteBuffer.allocateDirect(Math.max(ch.mtu() + 64, 2048));
    long txAddress = NativeBuffers.address(tx);
    long inAddress = NativeBuffers.address(in);
    long deadline = System.nanoTime() + timeout.toNanos();
    int tag = 0x8000_0000 | ThreadLocalRandom.current().nextInt(1 << 30) << 1 | 1;
    byte[] mac = ch.mac();
    String lastBad = "";
    while (System.nanoTime() - deadline < 0) {
      header(tx, BROADCAST, mac, shelf, slot, CMD_QUERY_CONFIG, tag);
      for (int i = 24; i < MIN_FRAME; i++) {
        tx.put(i, (byte) 0); // CCmd 0 (read), empty string, padding.
      }
      if (!ch.send(txAddress, MIN_FRAME)) {
        throw new IOException("cannot send on the AoE interface");
      }
      long tryEnd = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250));
      while (System.nanoTime() - tryEnd < 0) {
        int n = ch.receive(inAddress, in.capacity());
        if (n < 0) {
          continue;
        }
        if (n < QC_HEADER
            || (in.get(VER_FLAGS) & FLAG_RESPONSE) == 0
            || in.get(COMMAND) != CMD_QUERY_CONFIG
            || in.getInt(TAG) != tag) {
          continue; // Someone else's traffic.
        }
        int major = Short.toUnsignedInt(in.getShort(MAJOR));
        int minor = Byte.toUnsignedInt(in.get(MINOR));
        if (major != shelf || minor != slot) {
          lastBad = "answer from e" + major + "." + minor;
          continue;
        }
        if ((in.get(VER_FLAGS) & FLAG_ERROR) != 0) {
          throw new IOException(
              "AoE target e"
                  + shelf
                  + "."
                  + slot
                  + " refused Query Config: "
                  + errorName(in.get(ERROR)));
        }
        byte[] target = new byte[6];
        in.get(SRC, target);
        int sectors = Byte.toUnsignedInt(in.get(QC_SECTORS));
        if (sectors == 0) {
          throw new IOException(
              "AoE target e" + shelf + "." + slot + " accepts 0 sectors per command");
        }
        return new Target(
            target,
            Short.toUnsignedInt(in.getShort(QC_BUFCNT)),
            Short.toUnsignedInt(in.getShort(QC_FIRMWARE)),
            sectors);
      }
    }
    throw new IOException(
        "no AoE target e"
            + shelf
            + "."
            + slot
            + " answered Query Config within "
            + timeout
            + (lastBad.isEmpty() ? "" : " (" + lastBad + ")"));
  }

  private long identify() throws IOException {
    byte[] r = control(CMD_ATA, new byte[] {0, 0, 1, (byte) ATA_IDENTIFY});
    if (r.length < ATA_DATA + SECTOR) {
      throw new IOException(
          "IDENTIFY answer of "
              + r.length
              + " bytes from "
              + name
              + " (expected "
              + (ATA_DATA + SECTOR)
              + ")");
    }
    ByteBuffer id =
        ByteBuffer.wrap(r, ATA_DATA, SECTOR).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    boolean lba48 = (id.getShort(83 * 2) & (1 << 10)) != 0;
    long sectors = lba48 ? id.getLong(100 * 2) : Integer.toUnsignedLong(id.getInt(60 * 2));
    if (sectors <= 0 || sectors > (1L << 48)) {
      throw new IOException(
          "IDENTIFY from " + name + " reports " + Long.toUnsignedString(sectors) + " sectors");
    }
    return sectors * SECTOR;
  }

  // ---------------------------------------------------------------- properties

  @Override
  public long size() {
    return size;
  }

  @Override
  public int blockSize() {
    return SECTOR;
  }

  @Override
  public boolean isReadOnly() {
    return forceReadOnly;
  }

  @Override
  public BlockCapabilities capabilities() {
    return isReadOnly()
        ? BlockCapabilities.READ_WRITE_ONLY
        : new BlockCapabilities(true, false, false, false, false, 0, 0);
  }

  @Override
  public Geometry geometry() {
    return Geometry.forHardDisk(size, SECTOR);
  }

  /** Sectors per frame in use. */
  public int maxSectorsPerFrame() {
    return maxSectors;
  }

  /** Frames in flight at most (the target's buffer count, at most 64). */
  public int window() {
    return window;
  }

  public int bufferCount() {
    return bufferCount;
  }

  public int firmware() {
    return firmware;
  }

  /** Most frames that were ever in flight at once (never above {@link #window()}). */
  public int peakInFlight() {
    return peakInFlight;
  }

  /** Frames re-sent so far. */
  public long retransmissions() {
    return retransmissions;
  }

  /** Late duplicate answers dropped (answers to frames that were re-sent). */
  public long duplicates() {
    return duplicates;
  }

  /** Current retransmission timeout. */
  public Duration retransmitTimeout() {
    return Duration.ofNanos(rto);
  }

  // ---------------------------------------------------------------- submit

  @Override
  public void submit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    if (op == OP_FLUSH) {
      submitControl(CMD_ATA, new byte[] {0, 0, 0, (byte) ATA_FLUSH}, token, completion);
      return;
    }
    if (op != OP_READ && op != OP_WRITE) {
      completion.complete(
          token,
          new BlockDeviceException(Reason.UNSUPPORTED, "AoE has no " + opName(op), offset, length));
      return;
    }
    BlockDeviceException bad = check(op, offset, store, storeOffset, length);
    if (bad != null) {
      completion.complete(token, bad);
      return;
    }
    lock.lock();
    try {
      Request r = newRequest(op == OP_READ ? KIND_READ : KIND_WRITE, token, completion);
      r.lba = offset / SECTOR;
      r.sectors = length / SECTOR;
      r.store = store;
      r.storeOffset = storeOffset;
      pending.add(r);
      pump();
    } finally {
      lock.unlock();
    }
  }

  private static String opName(int op) {
    return switch (op) {
      case OP_DISCARD -> "discard";
      case OP_WRITE_ZEROES, OP_WRITE_ZEROES_UNMAP -> "write-zeroes";
      default -> "op " + op;
    };
  }

  private BlockDeviceException check(
      int op, long offset, BytesStore<?, ?> store, long storeOffset, int length) {
    if (closed) {
      return new BlockDeviceException(Reason.IO_ERROR, "AoE device is closed", offset, length);
    }
    if (op == OP_WRITE && isReadOnly()) {
      return new BlockDeviceException(
          Reason.READ_ONLY, "AoE target " + name + " opened read-only", offset, length);
    }
    long s = size;
    if (offset < 0 || length <= 0 || offset > s || length > s - offset) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range outside the target of " + s + " bytes", offset, length);
    }
    if (offset % SECTOR != 0 || length % SECTOR != 0) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range not aligned to 512-byte sectors", offset, length);
    }
    if (!NativeView.fits(store, storeOffset, length)) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory [" + storeOffset + ", +" + length + ") is not inside a native store",
          offset,
          length);
    }
    return null;
  }

  /** Caller holds the lock. */
  private Request newRequest(int kind, long token, Completion completion) {
    Request r = requestPool.poll();
    if (r == null) {
      r = new Request();
    }
    r.kind = kind;
    r.issued = 0;
    r.outstanding = 0;
    r.token = token;
    r.completion = completion;
    r.error = null;
    r.finished = false;
    r.deadline = System.nanoTime() + timeoutNanos;
    r.store = null;
    r.response = null;
    r.controlArg = null;
    return r;
  }

  private void submitControl(int command, byte[] arg, long token, Completion completion) {
    if (closed) {
      completion.complete(
          token, new BlockDeviceException(Reason.IO_ERROR, "AoE device is closed", 0, 0));
      return;
    }
    lock.lock();
    try {
      Request r = newRequest(KIND_CONTROL, token, completion);
      r.controlCommand = command;
      r.controlArg = arg;
      r.sectors = 1;
      pending.add(r);
      pump();
    } finally {
      lock.unlock();
    }
  }

  /** Caller holds the lock: puts frames of pending requests on the wire while slots are free. */
  private void pump() {
    while (!closed && freeTop > 0 && !pending.isEmpty()) {
      Request r = pending.peek();
      Slot s = slots[freeSlots[--freeTop]];
      s.inUse = true;
      s.generation++;
      s.request = r;
      s.retries = 0;
      ByteBuffer f = s.frame;
      if (r.kind == KIND_CONTROL) {
        s.command = r.controlCommand;
        header(f, target, mac, shelf, slotNumber, r.controlCommand, s.tag());
        f.put(24, r.controlArg, 0, r.controlArg.length);
        int len = 24 + r.controlArg.length;
        if (r.controlCommand == CMD_ATA) {
          for (int i = len; i < ATA_HEADER; i++) {
            f.put(i, (byte) 0);
          }
          len = ATA_HEADER;
        }
        s.frameLength = pad(f, len);
        r.issued = 1;
      } else {
        int n = Math.min(maxSectors, r.sectors - r.issued);
        s.command = CMD_ATA;
        s.lba = r.lba + r.issued;
        s.sectors = n;
        s.storeRelative = (long) r.issued * SECTOR;
        header(f, target, mac, shelf, slotNumber, CMD_ATA, s.tag());
        boolean write = r.kind == KIND_WRITE;
        ata(
            f,
            AFLAG_EXTENDED | (write ? AFLAG_WRITE : 0),
            write ? ATA_WRITE_EXT : ATA_READ_EXT,
            n,
            s.lba);
        int len = ATA_HEADER;
        if (write) {
          UnsafeMemory.MEMORY.copyMemory(
              r.store.addressForRead(r.storeOffset + s.storeRelative),
              s.frameAddress + ATA_HEADER,
              (long) n * SECTOR);
          len += n * SECTOR;
        }
        s.frameLength = pad(f, len);
        r.issued += n;
      }
      r.outstanding++;
      if (r.issued >= r.sectors) {
        pending.poll();
      }
      inFlight++;
      if (inFlight > peakInFlight) {
        peakInFlight = inFlight;
      }
      long now = System.nanoTime();
      s.firstSend = now;
      s.lastSend = now;
      if (!channel.send(s.frameAddress, s.frameLength)) {
        // Left to the retransmission timer: a send can fail transiently (ENOBUFS).
        badFrames.warn(
            "AoE send of " + s.frameLength + " bytes to " + name + " failed; will retransmit");
      }
    }
  }

  // ---------------------------------------------------------------- I/O thread

  private void ioLoop() {
    long lastTimers = System.nanoTime();
    while (!closed) {
      int n = channel.receive(rxAddress, rx.capacity());
      if (n > 0) {
        try {
          handle(n);
        } catch (RuntimeException e) {
          badFrames.warn("AoE frame handling failed: " + e);
        }
      }
      long now = System.nanoTime();
      if (now - lastTimers >= TIMER_PERIOD_NANOS || n < 0) {
        timers(now);
        lastTimers = now;
      }
      finishCompleted();
    }
  }

  private void handle(int n) {
    if (n < HEADER || Short.toUnsignedInt(rx.getShort(TYPE)) != ETHERTYPE) {
      badFrames.warn("AoE frame of " + n + " bytes is shorter than the 24-byte header; dropped");
      return;
    }
    int verFlags = Byte.toUnsignedInt(rx.get(VER_FLAGS));
    if ((verFlags & FLAG_RESPONSE) == 0) {
      return; // A request (another initiator's, or a broadcast probe): not for us.
    }
    if (verFlags >>> 4 != VERSION) {
      badFrames.warn("AoE response with version " + (verFlags >>> 4) + " (expected 1); dropped");
      return;
    }
    int major = Short.toUnsignedInt(rx.getShort(MAJOR));
    int minor = Byte.toUnsignedInt(rx.get(MINOR));
    int tag = rx.getInt(TAG);
    if (major != shelf || minor != slotNumber) {
      badFrames.warn(
          "AoE response from shelf/slot e"
              + major
              + "."
              + minor
              + " (tag 0x"
              + Integer.toHexString(tag)
              + ") while talking to "
              + name
              + "; dropped");
      return;
    }
    int index = tag & 0xffff;
    int generation = (tag >>> 16) & 0x7fff;
    lock.lock();
    try {
      Slot s = tag < 0 && index < slots.length ? slots[index] : null;
      if (s == null || !s.inUse || (s.generation & 0x7fff) != generation) {
        if (s != null && ((s.generation - generation) & 0x7fff) < 4) {
          duplicates++; // A late answer to a frame we re-sent: expected, harmless.
        } else {
          badFrames.warn(
              "AoE response with tag 0x"
                  + Integer.toHexString(tag)
                  + " that is not in flight; dropped");
        }
        return;
      }
      for (int i = 0; i < 6; i++) {
        if (rx.get(SRC + i) != target[i]) {
          byte[] src = new byte[6];
          rx.get(SRC, src);
          badFrames.warn(
              "AoE response for tag 0x"
                  + Integer.toHexString(tag)
                  + " from "
                  + AoeFrames.mac(src)
                  + " (target is "
                  + AoeFrames.mac(target)
                  + "); dropped");
          return;
        }
      }
      Request r = s.request;
      int command = Byte.toUnsignedInt(rx.get(COMMAND));
      if (command != s.command) {
        fail(
            r,
            "AoE response to tag 0x"
                + Integer.toHexString(tag)
                + " has command "
                + command
                + " (sent "
                + s.command
                + ")");
        return;
      }
      if ((verFlags & FLAG_ERROR) != 0) {
        fail(
            r,
            "AoE target "
                + name
                + " answered with "
                + errorName(Byte.toUnsignedInt(rx.get(ERROR))));
        return;
      }
      if (r.kind == KIND_CONTROL) {
        byte[] resp = new byte[n];
        rx.get(0, resp);
        r.response = resp;
        if (command == CMD_ATA && !ataOk(r, s, n, 0)) {
          return;
        }
      } else if (!ataOk(r, s, n, r.kind == KIND_READ ? s.sectors : 0)) {
        return;
      } else if (r.kind == KIND_READ) {
        UnsafeMemory.MEMORY.copyMemory(
            rxAddress + ATA_DATA,
            r.store.addressForWrite(r.storeOffset + s.storeRelative),
            (long) s.sectors * SECTOR);
      }
      if (s.retries == 0) {
        sample(System.nanoTime() - s.firstSend);
      }
      release(s);
      r.outstanding--;
      if (r.outstanding == 0 && r.issued >= r.sectors && !r.finished) {
        r.finished = true;
        completed.add(r);
      }
      pump();
    } finally {
      lock.unlock();
    }
  }

  /** Checks an ATA response; fails the request and returns false when it reports a problem. */
  private boolean ataOk(Request r, Slot s, int n, int dataSectors) {
    if (n < ATA_HEADER) {
      fail(r, "short ATA response of " + n + " bytes from " + name + " (expected >= 36)");
      return false;
    }
    int status = Byte.toUnsignedInt(rx.get(ATA_CMD_STATUS));
    int error = Byte.toUnsignedInt(rx.get(ATA_FEATURE));
    if ((status & ATA_STATUS_ERR) != 0) {
      fail(
          r,
          "AoE target "
              + name
              + " reports ATA status 0x"
              + Integer.toHexString(status)
              + " error 0x"
              + Integer.toHexString(error)
              + ((error & 0x10) != 0
                  ? " (IDNF: sector out of range)"
                  : (error & 0x04) != 0 ? " (ABRT)" : ""));
      return false;
    }
    int left = Byte.toUnsignedInt(rx.get(ATA_COUNT));
    if (r.kind != KIND_CONTROL && left != 0) {
      fail(
          r,
          "AoE target "
              + name
              + " left "
              + left
              + " of "
              + s.sectors
              + " sectors undone at LBA "
              + s.lba);
      return false;
    }
    long need = ATA_HEADER + (long) dataSectors * SECTOR;
    if (n < need) {
      fail(
          r,
          "short AoE frame of "
              + n
              + " bytes carrying "
              + s.sectors
              + " sectors (expected "
              + need
              + ")");
      return false;
    }
    return true;
  }

  /** Jacobson/Karels round-trip estimate. Caller holds the lock. */
  private void sample(long rtt) {
    if (srtt == 0) {
      srtt = rtt;
      rttvar = rtt / 2;
    } else {
      long delta = rtt - srtt;
      srtt += delta / 8;
      rttvar += (Math.abs(delta) - rttvar) / 4;
    }
    rto = Math.max(MIN_RTO_NANOS, Math.min(MAX_RTO_NANOS, srtt + 4 * rttvar));
  }

  private void timers(long now) {
    lock.lock();
    try {
      for (Slot s : slots) {
        if (!s.inUse) {
          continue;
        }
        Request r = s.request;
        if (now - r.deadline > 0) {
          failWith(
              r,
              new BlockDeviceException(
                  Reason.TIMEOUT,
                  "AoE target "
                      + name
                      + " did not answer within "
                      + timeout
                      + " ("
                      + s.retries
                      + " retransmissions of LBA "
                      + s.lba
                      + ")",
                  r.lba * SECTOR,
                  (long) r.sectors * SECTOR));
          continue;
        }
        long wait = Math.min(MAX_RTO_NANOS, rto << Math.min(s.retries, 10));
        if (now - s.lastSend > wait) {
          s.retries++;
          s.lastSend = now;
          retransmissions++;
          channel.send(s.frameAddress, s.frameLength);
        }
      }
      // Requests that never got a slot also have deadlines.
      for (Request r : pending) {
        if (now - r.deadline > 0 && !r.finished) {
          failWith(
              r,
              new BlockDeviceException(
                  Reason.TIMEOUT,
                  "AoE request to " + name + " was not sent within " + timeout,
                  r.lba * SECTOR,
                  (long) r.sectors * SECTOR));
          break; // The deque changed; the rest are checked on the next tick.
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Caller holds the lock. */
  private void fail(Request r, String message) {
    badFrames.warn(message);
    failWith(
        r,
        new BlockDeviceException(
            Reason.IO_ERROR, message, r.lba * SECTOR, (long) r.sectors * SECTOR));
  }

  /** Caller holds the lock: drops every frame of {@code r} and queues its completion. */
  private void failWith(Request r, BlockDeviceException e) {
    if (r.finished) {
      return;
    }
    r.finished = true;
    r.error = e;
    for (Slot s : slots) {
      if (s.inUse && s.request == r) {
        release(s);
      }
    }
    pending.remove(r);
    completed.add(r);
    pump();
  }

  /** Caller holds the lock. */
  private void release(Slot s) {
    s.inUse = false;
    s.request = null;
    inFlight--;
    freeSlots[freeTop++] = s.index;
  }

  /** Runs completions outside the lock, then returns requests to the pool. I/O thread only. */
  private void finishCompleted() {
    if (completed.isEmpty()) {
      return;
    }
    lock.lock();
    try {
      for (int i = 0; i < completed.size(); i++) {
        batch.add(completed.get(i));
      }
      completed.clear();
    } finally {
      lock.unlock();
    }
    for (Request r : batch) {
      if (r.completion instanceof Waiter w) {
        w.response = r.response;
      }
      r.completion.complete(r.token, r.error);
    }
    lock.lock();
    try {
      for (Request r : batch) {
        r.store = null;
        r.completion = null;
        r.response = null;
        requestPool.add(r);
      }
      batch.clear();
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- sync path

  /** The calling thread's waiter; carries the response frame of a control command. */
  private static final class Waiter extends SyncWaiter {
    byte[] response;

    @Override
    protected void clear() {
      response = null;
    }
  }

  private void run(int op, long offset, BytesStore<?, ?> store, long storeOffset, int length)
      throws BlockDeviceException {
    Waiter w = WAITERS.get();
    w.reset();
    submit(op, offset, store, storeOffset, length, 0, w);
    w.await();
  }

  /** Sends one control command and returns the whole response frame. */
  private byte[] control(int command, byte[] arg) throws BlockDeviceException {
    Waiter w = WAITERS.get();
    w.reset();
    submitControl(command, arg, 0, w);
    w.await();
    return w.response;
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws BlockDeviceException {
    run(OP_READ, offset, dst, dstOffset, length);
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    run(OP_WRITE, offset, src, srcOffset, length);
  }

  @Override
  public void flush() throws BlockDeviceException {
    if (!isReadOnly()) {
      control(CMD_ATA, new byte[] {0, 0, 0, (byte) ATA_FLUSH});
    }
  }

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    throw new BlockDeviceException(Reason.UNSUPPORTED, "AoE has no discard", offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    throw new BlockDeviceException(Reason.UNSUPPORTED, "AoE has no write-zeroes", offset, length);
  }

  // ---------------------------------------------------------------- reserve / release

  /** Reserves the target for this interface's MAC (Reserve/Release "set"). */
  public void reserve() throws BlockDeviceException {
    reservation(1, List.of(mac));
  }

  /** Clears the reservation (set with no MACs). */
  public void release() throws BlockDeviceException {
    reservation(1, List.of());
  }

  /** Replaces the reservation list whoever holds it ("force set"). */
  public List<String> forceReservation(List<byte[]> macs) throws BlockDeviceException {
    return reservation(2, macs);
  }

  /** The target's current reservation list, as MAC strings. */
  public List<String> reservation() throws BlockDeviceException {
    return reservation(0, List.of());
  }

  private List<String> reservation(int rcmd, List<byte[]> macs) throws BlockDeviceException {
    if (macs.size() > 255) {
      throw new IllegalArgumentException(macs.size() + " MACs (expected <= 255)");
    }
    byte[] arg = new byte[2 + 6 * macs.size()];
    arg[0] = (byte) rcmd;
    arg[1] = (byte) macs.size();
    for (int i = 0; i < macs.size(); i++) {
      System.arraycopy(macs.get(i), 0, arg, 2 + 6 * i, 6);
    }
    byte[] r = control(CMD_RESERVE, arg);
    if (r.length < RS_MACS) {
      throw new BlockDeviceException(
          Reason.IO_ERROR, "Reserve/Release answer of " + r.length + " bytes", 0, 0);
    }
    int n = Byte.toUnsignedInt(r[RS_NMACS]);
    if (RS_MACS + 6 * n > r.length) {
      throw new BlockDeviceException(
          Reason.IO_ERROR,
          "Reserve/Release answer lists " + n + " MACs in " + r.length + " bytes",
          0,
          0);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(AoeFrames.mac(Arrays.copyOfRange(r, RS_MACS + 6 * i, RS_MACS + 6 * i + 6)));
    }
    return out;
  }

  // ---------------------------------------------------------------- close

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      io.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    lock.lock();
    try {
      for (Slot s : slots) {
        if (s.inUse) {
          failWith(s.request, new BlockDeviceException(Reason.IO_ERROR, "AoE device closed", 0, 0));
        }
      }
      while (!pending.isEmpty()) {
        failWith(
            pending.peek(), new BlockDeviceException(Reason.IO_ERROR, "AoE device closed", 0, 0));
      }
    } finally {
      lock.unlock();
    }
    finishCompleted();
    channel.close();
  }

  @Override
  public String toString() {
    return "AoeDevice{" + name + ", " + size + " bytes}";
  }
}
