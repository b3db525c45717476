package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.RateLimitedLog;
import dev.vdisk.remote.io.SyncWaiter;
import dev.vdisk.remote.io.Watchdog;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.bytes.BytesStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD export as a block device: one connection carrying up to {@link #MAX_IN_FLIGHT} requests at
 * once, matched to replies by handle. The synchronous {@code BlockDevice} methods are built on
 * {@link #submit}.
 *
 * <p>Failure model:
 *
 * <ul>
 *   <li>Every request has a deadline ({@code timeout} from submission). A request past it completes
 *       with {@code TIMEOUT}; if it was on the wire its late reply is read and dropped.
 *   <li>A connection that gives no reply bytes for {@code timeout} while requests are outstanding,
 *       or that drops, is closed. Reads that were in flight are resent on a new connection (the
 *       supervisor reconnects with backoff); writes, trims, zeroes and flushes that were in flight
 *       fail with {@code IO_ERROR}, because the server may or may not have carried them out.
 *   <li>A protocol violation (bad magic, unknown handle, a chunk outside its request, ...) fails
 *       every request on that connection with {@code IO_ERROR} naming the bad value, logs it, and
 *       closes the connection; later requests reconnect.
 * </ul>
 */
public final class NbdClient implements AsyncBlockDevice {
  private static final Logger LOG = LoggerFactory.getLogger(NbdClient.class);

  /** Requests on the wire at once; a queue depth of 64 is still one connection. */
  public static final int MAX_IN_FLIGHT = 64;

  /** Internal op: BLOCK_STATUS for {@link #extent}. */
  static final int OP_BLOCK_STATUS = 100;

  /** Internal op: WRITE with FUA. */
  public static final int OP_WRITE_FUA = 101;

  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(2);

  /** Largest TRIM/WRITE_ZEROES range per request (lengths on the wire are u32). */
  private static final long MAX_RANGE = 1L << 30;

  private final NbdTarget target;
  private final long timeoutNanos;
  private final Duration timeout;
  private final boolean forceReadOnly;
  private final NbdExportInfo info;
  private final int blockSize;
  private final RateLimitedLog badPeerLog = new RateLimitedLog(LOG);

  private final NbdSlot[] slots = new NbdSlot[MAX_IN_FLIGHT];
  private final int[] freeStack = new int[MAX_IN_FLIGHT];
  private int freeTop;
  private final Semaphore freeSlots = new Semaphore(MAX_IN_FLIGHT);
  private final int[] resend = new int[MAX_IN_FLIGHT];

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  private NbdConnection connection; // guarded by lock
  private int outstanding; // SENT + ABANDONED, guarded by lock
  private long nextReconnect;
  private long backoff = TimeUnit.MILLISECONDS.toNanos(50);
  private String lastConnectError = "";
  private volatile boolean closed;
  private final Thread supervisor;

  private static final ThreadLocal<Waiter> WAITERS = ThreadLocal.withInitial(Waiter::new);

  private NbdClient(NbdTarget target, Duration timeout, boolean readOnly, NbdConnection first) {
    this.target = target;
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.forceReadOnly = readOnly;
    this.info = first.info();
    this.blockSize = blockSizeFor(info);
    for (int i = 0; i < MAX_IN_FLIGHT; i++) {
      slots[i] = new NbdSlot(i);
      freeStack[i] = MAX_IN_FLIGHT - 1 - i;
    }
    freeTop = MAX_IN_FLIGHT;
    this.connection = first;
    this.supervisor = new Thread(this::supervise, "nbd-supervisor " + target);
    supervisor.setDaemon(true);
  }

  /**
   * Connects and negotiates. Throws {@link IOException} naming the server and the reason when it
   * cannot be reached, refuses the export or breaks the handshake within {@code timeout}.
   */
  public static NbdClient open(NbdTarget target, Duration timeout, boolean readOnly)
      throws IOException {
    NbdConnection first = connect(target, timeout);
    NbdClient client = new NbdClient(target, timeout, readOnly, first);
    long size = client.info.size();
    if (size % client.blockSize != 0) {
      LOG.warn(
          "NBD export {} has size {} (not a multiple of {}); the last {} bytes are not used",
          target,
          size,
          client.blockSize,
          size % client.blockSize);
    }
    first.start(client);
    client.supervisor.start();
    return client;
  }

  private static NbdConnection connect(NbdTarget target, Duration timeout) throws IOException {
    SocketChannel ch;
    try {
      ch = target.endpoint().connect(timeout);
    } catch (IOException e) {
      throw new IOException("cannot connect to NBD server " + target + ": " + e.getMessage(), e);
    }
    try (Watchdog w = Watchdog.closeAfter(ch, timeout)) {
      try {
        NbdExportInfo info = NbdClientHandshake.negotiate(ch, target.exportName(), true);
        return new NbdConnection(ch, info, target);
      } catch (IOException e) {
        ch.close();
        if (w.fired()) {
          throw new IOException(
              "NBD handshake with " + target + " did not finish within " + timeout, e);
        }
        throw new IOException("NBD handshake with " + target + " failed: " + e.getMessage(), e);
      }
    }
  }

  private static int blockSizeFor(NbdExportInfo info) throws IllegalStateException {
    int min = info.minBlock();
    return min <= 512 ? 512 : min <= 2048 ? 2048 : 4096;
  }

  /** The export's negotiated properties. */
  public NbdExportInfo exportInfo() {
    return info;
  }

  @Override
  public long size() {
    return info.size() - info.size() % blockSize;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public boolean isReadOnly() {
    return forceReadOnly || info.has(TF_READ_ONLY);
  }

  @Override
  public BlockCapabilities capabilities() {
    if (isReadOnly()) {
      return BlockCapabilities.READ_WRITE_ONLY;
    }
    boolean flush = info.has(TF_SEND_FLUSH) && !target.fua();
    boolean trim = info.has(TF_SEND_TRIM);
    boolean zeroes = info.has(TF_SEND_WRITE_ZEROES);
    return new BlockCapabilities(
        flush,
        trim,
        zeroes,
        zeroes,
        false,
        trim || zeroes ? Integer.MAX_VALUE - (Integer.MAX_VALUE % blockSize) : 0,
        trim || zeroes ? Math.max(blockSize, info.preferredBlock()) : 0);
  }

  @Override
  public Geometry geometry() {
    return Geometry.forHardDisk(size(), blockSize);
  }

  // ---------------------------------------------------------------- async path

  @Override
  public void submit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    int command;
    int flags = 0;
    switch (op) {
      case OP_READ -> command = CMD_READ;
      case OP_WRITE -> {
        command = CMD_WRITE;
        flags = target.fua() && info.has(TF_SEND_FUA) ? CMD_FLAG_FUA : 0;
      }
      case OP_WRITE_FUA -> {
        command = CMD_WRITE;
        flags = info.has(TF_SEND_FUA) ? CMD_FLAG_FUA : 0;
      }
      case OP_FLUSH -> command = CMD_FLUSH;
      case OP_DISCARD -> command = CMD_TRIM;
      case OP_WRITE_ZEROES -> {
        command = CMD_WRITE_ZEROES;
        flags = CMD_FLAG_NO_HOLE;
      }
      case OP_WRITE_ZEROES_UNMAP -> command = CMD_WRITE_ZEROES;
      case OP_BLOCK_STATUS -> {
        command = CMD_BLOCK_STATUS;
        flags = CMD_FLAG_REQ_ONE;
      }
      default -> {
        completion.complete(
            token,
            new BlockDeviceException(Reason.UNSUPPORTED, "unknown op " + op, offset, length));
        return;
      }
    }
    BlockDeviceException bad = check(command, offset, store, storeOffset, length);
    if (bad != null) {
      completion.complete(token, bad);
      return;
    }
    if (command == CMD_FLUSH && !info.has(TF_SEND_FLUSH)) {
      completion.complete(token, null); // No volatile cache on the server: nothing to drain.
      return;
    }
    if ((command == CMD_READ || command == CMD_WRITE) && length > info.maxPayload()) {
      submitSplit(op, offset, store, storeOffset, length, token, completion);
      return;
    }
    start(command, flags, offset, store, storeOffset, length, token, completion);
  }

  private BlockDeviceException check(
      int command, long offset, BytesStore<?, ?> store, long storeOffset, int length) {
    boolean writeSide = command == CMD_WRITE || command == CMD_TRIM || command == CMD_WRITE_ZEROES;
    if (closed) {
      return new BlockDeviceException(Reason.IO_ERROR, "NBD device is closed", offset, length);
    }
    if (writeSide && isReadOnly()) {
      return new BlockDeviceException(
          Reason.READ_ONLY, "NBD export " + target + " is read-only", offset, length);
    }
    if (command == CMD_TRIM && !info.has(TF_SEND_TRIM)
        || command == CMD_WRITE_ZEROES && !info.has(TF_SEND_WRITE_ZEROES)) {
      return new BlockDeviceException(
          Reason.UNSUPPORTED, "server does not support " + commandName(command), offset, length);
    }
    if (command == CMD_FLUSH) {
      return null;
    }
    long size = size();
    if (offset < 0 || length <= 0 || offset > size || length > size - offset) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range outside the export of " + size + " bytes", offset, length);
    }
    if (offset % info.minBlock() != 0 || length % info.minBlock() != 0) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "range not aligned to the server's minimum block size " + info.minBlock(),
          offset,
          length);
    }
    if ((command == CMD_READ || command == CMD_WRITE)
        && !NativeView.fits(store, storeOffset, length)) {
      return new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory [" + storeOffset + ", +" + length + ") is not inside a native store",
          offset,
          length);
    }
    return null;
  }

  private void submitSplit(
      int op,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    int max = info.maxPayload() - info.maxPayload() % blockSize;
    int parts = (length + max - 1) / max;
    SplitRequest group = new SplitRequest(parts, token, completion);
    for (int done = 0; done < length; done += max) {
      int n = Math.min(max, length - done);
      submit(op, offset + done, store, storeOffset + done, n, 0, group);
    }
  }

  /** Completes a request split into parts once every part has completed. */
  private static final class SplitRequest implements Completion {
    private int remaining;
    private BlockDeviceException firstError;
    private final long token;
    private final Completion completion;

    SplitRequest(int parts, long token, Completion completion) {
      this.remaining = parts;
      this.token = token;
      this.completion = completion;
    }

    @Override
    public void complete(long ignored, BlockDeviceException error) {
      BlockDeviceException e;
      synchronized (this) {
        if (error != null && firstError == null) {
          firstError = error;
        }
        if (--remaining > 0) {
          return;
        }
        e = firstError;
      }
      completion.complete(token, e);
    }
  }

  private void start(
      int command,
      int flags,
      long offset,
      BytesStore<?, ?> store,
      long storeOffset,
      int length,
      long token,
      Completion completion) {
    boolean acquired;
    try {
      acquired = freeSlots.tryAcquire(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      completion.complete(
          token, new BlockDeviceException(Reason.IO_ERROR, "interrupted", offset, length));
      return;
    }
    if (!acquired) {
      completion.complete(
          token,
          new BlockDeviceException(
              Reason.TIMEOUT,
              "no free request slot within " + timeout + " (server " + target + " not answering)",
              offset,
              length));
      return;
    }
    NbdSlot s;
    NbdConnection c;
    lock.lock();
    try {
      s = slots[freeStack[--freeTop]];
      s.command = command;
      s.commandFlags = flags;
      s.offset = offset;
      s.length = length;
      s.store = store;
      s.storeOffset = storeOffset;
      s.token = token;
      s.completion = completion;
      s.deadline = System.nanoTime() + timeoutNanos;
      s.attempts = 0;
      s.covered = 0;
      s.error = null;
      s.extent = 0;
      s.receiving = false;
      c = connection;
      if (c == null || closed) {
        s.state = NbdSlot.WAITING;
        wake.signal();
        return;
      }
      markSent(s, c);
    } finally {
      lock.unlock();
    }
    c.send(s);
  }

  /** Caller holds the lock. */
  private void markSent(NbdSlot s, NbdConnection c) {
    s.state = NbdSlot.SENT;
    s.attempts++;
    if (outstanding++ == 0) {
      c.touch();
    }
  }

  // ---------------------------------------------------------------- callbacks from connections

  /** Finds the slot a reply names and hands it to the reader; null when the handle is unknown. */
  NbdSlot claim(long handle) {
    int index = (int) handle;
    int generation = (int) (handle >>> 32);
    if (index < 0 || index >= MAX_IN_FLIGHT) {
      return null;
    }
    lock.lock();
    try {
      NbdSlot s = slots[index];
      if (s.generation != generation || (s.state != NbdSlot.SENT && s.state != NbdSlot.ABANDONED)) {
        return null;
      }
      s.receiving = true;
      return s;
    } finally {
      lock.unlock();
    }
  }

  /** The reader is done with a chunk that was not the last one. */
  void release(NbdSlot s) {
    lock.lock();
    try {
      s.receiving = false;
    } finally {
      lock.unlock();
    }
  }

  /** The reply to {@code s} is complete. */
  void finished(NbdSlot s) {
    Completion completion;
    long token;
    BlockDeviceException error;
    long extent;
    boolean abandoned;
    lock.lock();
    try {
      abandoned = s.state == NbdSlot.ABANDONED;
      completion = s.completion;
      token = s.token;
      error = s.error;
      extent = s.extent;
      free(s);
      outstanding--;
    } finally {
      lock.unlock();
    }
    freeSlots.release();
    if (!abandoned) {
      if (error == null && completion instanceof Waiter w) {
        w.extent = extent;
      }
      completion.complete(token, error);
    }
  }

  /** Caller holds the lock. */
  private void free(NbdSlot s) {
    s.state = NbdSlot.FREE;
    s.receiving = false;
    s.generation++;
    s.store = null;
    s.completion = null;
    freeStack[freeTop++] = s.index;
  }

  /**
   * Connection {@code c} is unusable. With {@code retryReads} (it dropped or stalled) reads in
   * flight wait for a new connection; otherwise (the server broke the protocol) everything in
   * flight fails. {@code current} is the slot the reader was filling, which only the reader may
   * resolve.
   */
  void connectionFailed(NbdConnection c, IOException cause, boolean retryReads, NbdSlot current) {
    List<NbdSlot> failed = new ArrayList<>();
    List<BlockDeviceException> errors = new ArrayList<>();
    List<Completion> completions = new ArrayList<>();
    List<Long> tokens = new ArrayList<>();
    String why = cause.getMessage();
    lock.lock();
    try {
      boolean first = connection == c;
      if (first) {
        connection = null;
        nextReconnect = System.nanoTime();
        c.kill();
        if (closed) {
          LOG.debug("NBD connection to {} closed", target);
        } else if (retryReads) {
          LOG.warn("NBD connection to {} lost: {}", target, why);
        } else {
          badPeerLog.warn("NBD server " + target + " broke the protocol: " + why);
        }
      }
      for (NbdSlot s : slots) {
        boolean mine = s == current || (first && !s.receiving);
        if (!mine || (s.state != NbdSlot.SENT && s.state != NbdSlot.ABANDONED)) {
          continue;
        }
        outstanding--;
        if (s.state == NbdSlot.ABANDONED) {
          free(s);
          freeSlots.release();
          continue;
        }
        s.receiving = false;
        if (retryReads && s.isReadLike() && !closed) {
          s.state = NbdSlot.WAITING; // Resent by the supervisor, until its deadline.
          s.covered = 0;
          s.error = null;
          continue;
        }
        String message =
            retryReads
                ? "connection to NBD server "
                    + target
                    + " lost while "
                    + commandName(s.command)
                    + " was in flight (it may or may not have been carried out): "
                    + why
                : "NBD server " + target + " broke the protocol: " + why;
        errors.add(new BlockDeviceException(Reason.IO_ERROR, message, s.offset, s.length, cause));
        completions.add(s.completion);
        tokens.add(s.token);
        failed.add(s);
        free(s);
        freeSlots.release();
      }
      wake.signal();
    } finally {
      lock.unlock();
    }
    for (int i = 0; i < failed.size(); i++) {
      completions.get(i).complete(tokens.get(i), errors.get(i));
    }
  }

  void logBadPeer(String message) {
    badPeerLog.warn(message);
  }

  // ---------------------------------------------------------------- supervisor

  private void supervise() {
    while (!closed) {
      List<Runnable> later = new ArrayList<>(0);
      int resendCount = 0;
      NbdConnection resendOn = null;
      boolean reconnect = false;
      lock.lock();
      try {
        wake.awaitNanos(TICK_NANOS);
        long now = System.nanoTime();
        NbdConnection c = connection;
        List<Runnable> expired = new ArrayList<>(0);
        boolean silentExpiry = expire(now, c, expired);
        boolean stalled =
            c != null && outstanding > 0 && (silentExpiry || now - c.lastActivity() > timeoutNanos);
        if (stalled) {
          NbdConnection dead = c;
          // Fail the connection before the callers hear of their timeouts: a caller that reacts
          // to a TIMEOUT with a new request must not put it on the stalled connection, where the
          // stall would then fail it too.
          later.add(
              () ->
                  connectionFailed(
                      dead,
                      new IOException(
                          "no reply bytes for " + timeout + " with requests outstanding"),
                      true,
                      null));
        }
        later.addAll(expired);
        if (stalled) {
          // Nothing more on this connection; the next tick reconnects for what is waiting.
        } else if (c == null && hasWaiting() && now - nextReconnect >= 0) {
          reconnect = true;
        } else if (c != null) {
          for (NbdSlot s : slots) {
            if (s.state == NbdSlot.WAITING) {
              markSent(s, c);
              resend[resendCount++] = s.index;
            }
          }
          resendOn = c;
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      for (Runnable r : later) {
        r.run();
      }
      for (int i = 0; i < resendCount; i++) {
        resendOn.send(slots[resend[i]]);
      }
      if (reconnect) {
        reconnect();
      }
    }
  }

  /**
   * Caller holds the lock: completes every request past its deadline. Returns true when a request
   * on the wire expired without a reply byte arriving on {@code c} since it was sent (within a
   * tick): the connection is stalled, not merely slow on one request.
   */
  private boolean expire(long now, NbdConnection c, List<Runnable> later) {
    boolean silent = false;
    for (NbdSlot s : slots) {
      if ((s.state != NbdSlot.WAITING && s.state != NbdSlot.SENT)
          || s.receiving
          || now - s.deadline < 0) {
        continue;
      }
      if (s.state == NbdSlot.SENT
          && c != null
          && c.lastActivity() - (s.deadline - timeoutNanos) < TICK_NANOS) {
        silent = true;
      }
      Completion completion = s.completion;
      long token = s.token;
      String what =
          s.state == NbdSlot.WAITING
              ? "could not reach NBD server "
                  + target
                  + " within "
                  + timeout
                  + (lastConnectError.isEmpty() ? "" : ": " + lastConnectError)
              : "NBD server "
                  + target
                  + " did not answer "
                  + commandName(s.command)
                  + " within "
                  + timeout;
      BlockDeviceException e = new BlockDeviceException(Reason.TIMEOUT, what, s.offset, s.length);
      if (s.state == NbdSlot.WAITING) {
        free(s);
        freeSlots.release();
      } else {
        s.state = NbdSlot.ABANDONED; // Its memory goes back to the caller; the reply is dropped.
      }
      later.add(() -> completion.complete(token, e));
    }
    return silent;
  }

  private boolean hasWaiting() {
    for (NbdSlot s : slots) {
      if (s.state == NbdSlot.WAITING) {
        return true;
      }
    }
    return false;
  }

  private void reconnect() {
    NbdConnection fresh = null;
    String error = null;
    try {
      fresh = connect(target, timeout);
      NbdExportInfo now = fresh.info();
      if (now.size() != info.size()
          || (now.flags() & TF_READ_ONLY) != (info.flags() & TF_READ_ONLY)
          || now.structuredReplies() != info.structuredReplies()) {
        error =
            "export changed across reconnect (size "
                + info.size()
                + " -> "
                + now.size()
                + ", flags 0x"
                + Integer.toHexString(info.flags())
                + " -> 0x"
                + Integer.toHexString(now.flags())
                + ")";
        fresh.kill();
        fresh = null;
      }
    } catch (IOException e) {
      error = e.getMessage();
    }
    lock.lock();
    try {
      if (fresh == null || closed) {
        lastConnectError = error == null ? "closed" : error;
        nextReconnect = System.nanoTime() + backoff;
        backoff = Math.min(MAX_BACKOFF_NANOS, backoff * 2);
        if (fresh != null) {
          fresh.kill();
        }
        return;
      }
      LOG.info("NBD connection to {} re-established", target);
      backoff = TimeUnit.MILLISECONDS.toNanos(50);
      lastConnectError = "";
      connection = fresh;
      fresh.start(this);
      wake.signal(); // Resend on the next pass.
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- sync path

  /** Waits for one request of the calling thread (one per thread, reused). */
  /** The calling thread's waiter; carries the extent a block-status request found. */
  private static final class Waiter extends SyncWaiter {
    long extent;

    @Override
    protected void clear() {
      extent = 0;
    }
  }

  private long run(int op, long offset, BytesStore<?, ?> store, long storeOffset, int length)
      throws BlockDeviceException {
    Waiter w = WAITERS.get();
    w.reset();
    submit(op, offset, store, storeOffset, length, 0, w);
    w.await();
    return w.extent;
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

  /** A write that is on stable storage when it returns (NBD FUA). */
  public void writeFua(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    run(OP_WRITE_FUA, offset, src, srcOffset, length);
  }

  @Override
  public void flush() throws BlockDeviceException {
    run(OP_FLUSH, 0, null, 0, 0);
  }

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    ranged(OP_DISCARD, offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    ranged(mayUnmap ? OP_WRITE_ZEROES_UNMAP : OP_WRITE_ZEROES, offset, length);
  }

  private void ranged(int op, long offset, long length) throws BlockDeviceException {
    if (length <= 0 || offset < 0 || length > size() - offset) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range outside the export of " + size() + " bytes", offset, length);
    }
    long chunk = MAX_RANGE - MAX_RANGE % blockSize;
    for (long done = 0; done < length; done += chunk) {
      run(op, offset + done, null, 0, (int) Math.min(chunk, length - done));
    }
  }

  @Override
  public long extent(long offset, long maxLength) throws BlockDeviceException {
    long size = size();
    if (offset < 0 || offset >= size || maxLength <= 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "extent query outside the export of " + size + " bytes",
          offset,
          maxLength);
    }
    long max = Math.min(maxLength, size - offset);
    if (info.allocationContext() < 0) {
      return max;
    }
    int len = (int) Math.min(max, MAX_RANGE);
    if (len >= info.minBlock()) {
      len -= len % info.minBlock();
    }
    long e = run(OP_BLOCK_STATUS, offset, null, 0, len);
    return e == 0 ? max : e;
  }

  // ---------------------------------------------------------------- close

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    long deadline = System.nanoTime() + timeoutNanos;
    // Let requests already on the wire finish (bounded by the timeout), then say goodbye.
    lock.lock();
    try {
      while (outstanding > 0 && System.nanoTime() - deadline < 0) {
        lock.unlock();
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        } finally {
          lock.lock();
        }
      }
      closed = true;
    } finally {
      lock.unlock();
    }
    supervisor.interrupt();
    NbdConnection c;
    lock.lock();
    try {
      c = connection;
    } finally {
      lock.unlock();
    }
    if (c != null) {
      c.disconnect();
      connectionFailed(c, new IOException("NBD device closed"), false, null);
    }
    // Anything still waiting for a connection fails now.
    List<Runnable> later = new ArrayList<>();
    lock.lock();
    try {
      for (NbdSlot s : slots) {
        if (s.state == NbdSlot.WAITING) {
          Completion completion = s.completion;
          long token = s.token;
          BlockDeviceException e =
              new BlockDeviceException(Reason.IO_ERROR, "NBD device closed", s.offset, s.length);
          free(s);
          freeSlots.release();
          later.add(() -> completion.complete(token, e));
        }
      }
    } finally {
      lock.unlock();
    }
    later.forEach(Runnable::run);
  }

  @Override
  public String toString() {
    return "NbdClient{" + target + ", " + info.size() + " bytes}";
  }
}
