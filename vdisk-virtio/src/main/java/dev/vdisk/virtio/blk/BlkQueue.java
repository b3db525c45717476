package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_F_UNMAP;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SECTOR_SHIFT;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.HostMemory;
import dev.vdisk.virtio.queue.SplitQueue;
import dev.vdisk.virtio.queue.Virtqueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * One virtio-blk request queue of one driver session: pops chains, parses, executes (synchronously
 * or through an {@link AsyncBlockDevice}), completes, and decides on interrupts.
 *
 * <h2>Threading</h2>
 *
 * <ul>
 *   <li>{@link #kick()} may be called from any number of threads. One of them processes the queue
 *       at a time ({@link #processLock}, taken with tryLock so a vCPU thread never waits behind
 *       another); a kick that finds the lock taken leaves a flag the holder re-checks before
 *       leaving, so no notification is lost.
 *   <li>Used-ring pushes are serialised: by the processing thread for synchronous backends, by
 *       {@link #pushLock} when completions arrive on other threads.
 *   <li>{@link #shutdown} (device reset, queue stop) stops kicks, waits for the processing thread,
 *       waits a bounded time for in-flight requests, then marks the queue dead under both locks: a
 *       completion arriving later is dropped and never writes into the old rings.
 * </ul>
 *
 * <p>Steady state allocates nothing: one {@link DescriptorChain} and one {@link BlkRequest} are
 * reused, asynchronous per-request state lives in arrays indexed by head, and the single {@link
 * AsyncBlockDevice.Completion} object tells requests apart by their token (the head).
 */
final class BlkQueue implements AsyncBlockDevice.Completion {
  private static final BlkError[] ERRORS = BlkError.values();

  private final BlkSettings settings;
  private final VirtioBlkDevice device;
  private final SplitQueue queue;
  private final BlkQueueStats stats;
  private final DescriptorChain chain;
  private final BlkRequest request;
  private final RequestParser parser;
  private final SyncExecutor sync;
  private final AsyncBlockDevice asyncBackend;
  private final BytesStore<?, ?>[] stores;
  private final boolean reportUsedLen;
  private final int budget;
  private final Executor continuationExecutor;
  private final Runnable continuation = this::poll;

  final ReentrantLock processLock = new ReentrantLock();
  private final Object pushLock = new Object();
  private volatile boolean notifyPending;
  private volatile boolean stopping;
  private volatile boolean dead;
  private volatile boolean retired;

  // Per-head state of asynchronous requests (written before submit, read by the last completion).
  private final AtomicIntegerArray remaining;
  private final AtomicIntegerArray firstError;
  private final long[] asyncStatusHost;
  private final int[] asyncUsedLen;
  private final long[] asyncBytes;
  private final boolean[] asyncBytesIn;
  private final boolean[] asyncFlushAfter;

  // Counts of the current processing pass (processing thread only), folded into stats.proc once
  // per pass in flushInterrupts: one plain increment per counter per request instead of a
  // published read-modify-write. Bit i of pendingMask is set once pending[i] is non-zero.
  private final long[] pending = new long[BlkQueueStats.COUNT];
  private long pendingMask;
  private int completedInPass; // COMPLETED, the one counter every request bumps

  static {
    if (BlkQueueStats.COUNT > Long.SIZE) {
      throw new AssertionError("BlkQueueStats.COUNT " + BlkQueueStats.COUNT + " > 64 mask bits");
    }
  }

  BlkQueue(
      BlkSettings settings,
      VirtioBlkDevice device,
      SplitQueue queue,
      BlkQueueStats stats,
      long negotiated,
      BytesStore<?, ?>[] stores) {
    this.settings = settings;
    this.device = device;
    this.queue = queue;
    this.stats = stats;
    this.stores = stores;
    this.chain = queue.newChain();
    this.request = new BlkRequest(settings.maxRanges());
    this.parser = new RequestParser(settings, device, negotiated);
    this.sync = new SyncExecutor(settings, stores);
    this.asyncBackend = settings.async ? (AsyncBlockDevice) settings.backend : null;
    this.reportUsedLen = settings.reportUsedLen;
    this.budget = settings.notifyBudget;
    this.continuationExecutor = settings.continuationExecutor;
    int n = asyncBackend == null ? 0 : queue.size();
    this.remaining = new AtomicIntegerArray(n);
    this.firstError = new AtomicIntegerArray(n);
    this.asyncStatusHost = new long[n];
    this.asyncUsedLen = new int[n];
    this.asyncBytes = new long[n];
    this.asyncBytesIn = new boolean[n];
    this.asyncFlushAfter = new boolean[n];
  }

  SplitQueue queue() {
    return queue;
  }

  BlkQueueStats stats() {
    return stats;
  }

  // ---------------------------------------------------------------------------------------------
  // Kicks and the processing loop

  /** The driver notified this queue. */
  void kick() {
    stats.kicks.incrementAndGet();
    notifyPending = true;
    runPending();
  }

  /**
   * Processes what is available without counting a kick: after activation (kicks before DRIVER_OK
   * were ignored) and when the continuation executor takes over after the work budget ran out.
   */
  void poll() {
    notifyPending = true;
    runPending();
  }

  private void runPending() {
    while (notifyPending && !stopping) {
      if (!processLock.tryLock()) {
        return; // the holder re-checks notifyPending before it leaves
      }
      try {
        if (dead || stopping) {
          return;
        }
        notifyPending = false;
        if (!drain()) {
          return; // the rest runs on the continuation executor
        }
      } finally {
        processLock.unlock();
      }
    }
  }

  /**
   * Processes available chains until the ring is empty with notifications re-enabled (true), or
   * until the work budget ran out and the rest was handed to the continuation executor (false).
   */
  private boolean drain() {
    SplitQueue q = queue;
    int done = 0;
    while (true) {
      q.disableNotifications();
      while (true) {
        int r = q.pop(chain);
        if (r == Virtqueue.POP_EMPTY) {
          break;
        }
        if (r == Virtqueue.POP_BROKEN) {
          flushInterrupts();
          return true;
        }
        handle(r);
        if (++done >= budget && continuationExecutor != null && handOff()) {
          return false;
        }
      }
      flushInterrupts();
      if (!q.enableNotifications()) {
        return true;
      }
    }
  }

  /** Cold: queues the continuation; false when the executor refused (keep going inline). */
  private boolean handOff() {
    flushInterrupts();
    try {
      continuationExecutor.execute(continuation);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private void flushInterrupts() {
    publishCounts();
    if (asyncBackend == null) {
      queue.notifyIfNeeded();
    } else {
      synchronized (pushLock) {
        if (!dead) {
          queue.notifyIfNeeded();
        }
      }
    }
  }

  private void count(int counter) {
    pending[counter]++;
    pendingMask |= 1L << counter;
  }

  private void count(int counter, long delta) {
    pending[counter] += delta;
    pendingMask |= 1L << counter;
  }

  /** Publishes the pass's counts; before the interrupt, so a driver woken by it sees them. */
  private void publishCounts() {
    if (completedInPass != 0) {
      stats.proc.add(BlkQueueStats.COMPLETED, completedInPass);
      completedInPass = 0;
    }
    long m = pendingMask;
    while (m != 0) {
      int i = Long.numberOfTrailingZeros(m);
      stats.proc.add(i, pending[i]);
      pending[i] = 0;
      m &= m - 1;
    }
    pendingMask = 0;
  }

  private void handle(int popResult) {
    DescriptorChain c = chain;
    BlkRequest r = request;
    if (popResult == Virtqueue.POP_MALFORMED) {
      count(BlkQueueStats.ERRORS + BlkError.CHAIN_MALFORMED.ordinal());
      push(c.head(), 0);
      return;
    }
    count(BlkQueueStats.HISTOGRAM + BlkQueueStats.histogramBucket(c.descriptors()));
    BlkError e = parser.parse(c, r);
    count(BlkQueueStats.REQUESTS + r.bucket);
    if (parser.oddFlush) {
      count(BlkQueueStats.ODD_FLUSHES);
    }
    if (e != null) {
      count(BlkQueueStats.ERRORS + e.ordinal());
      finishNow(r, e);
      return;
    }
    if (asyncBackend != null && isAsyncOp(r.op)) {
      submitAsync(r, c);
      return;
    }
    e = sync.execute(r, c);
    if (e != null) {
      count(BlkQueueStats.ERRORS + e.ordinal());
    } else {
      countBytes(r.op, r.dataBytes);
    }
    finishNow(r, e);
  }

  /** Bytes moved to the guest (reads and answers) or from it (writes). */
  private void countBytes(int op, long bytes) {
    if (op == BlkRequest.OP_READ
        || op == BlkRequest.OP_GET_ID
        || op == BlkRequest.OP_GET_LIFETIME) {
      count(BlkQueueStats.BYTES_IN, bytes);
    } else if (op == BlkRequest.OP_WRITE) {
      count(BlkQueueStats.BYTES_OUT, bytes);
    }
  }

  /** The one place where an outcome becomes a status byte and a used.len. */
  private void finishNow(BlkRequest r, BlkError e) {
    int status;
    int len;
    if (e == null) {
      status = BlkStatus.OK;
      len = r.usedLenOnSuccess;
    } else {
      status = e.status();
      len = 1;
    }
    if (status == BlkStatus.NONE) {
      push(r.head, 0);
      return;
    }
    if (asyncBackend == null) {
      HostMemory.putU8(r.statusHost, status);
      completedInPass++;
      queue.addUsed(r.head, reportUsedLen ? len : 0);
    } else {
      synchronized (pushLock) {
        if (dead) {
          return;
        }
        HostMemory.putU8(r.statusHost, status);
        stats.done.increment(BlkQueueStats.COMPLETED);
        queue.addUsed(r.head, reportUsedLen ? len : 0);
        queue.notifyIfNeeded();
      }
    }
  }

  /** Returns a head without a status (malformed chain or no status byte). */
  private void push(int head, int len) {
    if (asyncBackend == null) {
      completedInPass++;
      queue.addUsed(head, len);
    } else {
      synchronized (pushLock) {
        if (dead) {
          return;
        }
        stats.done.increment(BlkQueueStats.COMPLETED);
        queue.addUsed(head, len);
        queue.notifyIfNeeded();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Asynchronous backends

  private static boolean isAsyncOp(int op) {
    return op == BlkRequest.OP_READ
        || op == BlkRequest.OP_WRITE
        || op == BlkRequest.OP_FLUSH
        || op == BlkRequest.OP_DISCARD
        || op == BlkRequest.OP_WRITE_ZEROES;
  }

  private void submitAsync(BlkRequest r, DescriptorChain c) {
    int h = r.head;
    asyncStatusHost[h] = r.statusHost;
    asyncUsedLen[h] = reportUsedLen ? r.usedLenOnSuccess : 0;
    asyncBytes[h] = r.op == BlkRequest.OP_READ || r.op == BlkRequest.OP_WRITE ? r.dataBytes : 0;
    asyncBytesIn[h] = r.op == BlkRequest.OP_READ;
    asyncFlushAfter[h] = r.flushAfterWrite;
    firstError.set(h, 0);
    // One extra count for the submission itself, so an op completing inline cannot finish the
    // request before every op of it was submitted.
    remaining.set(h, 1);
    switch (r.op) {
      case BlkRequest.OP_READ:
      case BlkRequest.OP_WRITE:
        {
          int op =
              r.op == BlkRequest.OP_READ ? AsyncBlockDevice.OP_READ : AsyncBlockDevice.OP_WRITE;
          long offset = r.sector << SECTOR_SHIFT;
          for (boolean more = r.firstPiece(c); more; more = r.nextPiece(c)) {
            submitOne(
                op,
                offset,
                stores[c.regionIndex(r.pieceSeg)],
                r.pieceStoreOffset(c),
                r.pieceLen,
                h);
            offset += r.pieceLen;
          }
          break;
        }
      case BlkRequest.OP_FLUSH:
        submitOne(AsyncBlockDevice.OP_FLUSH, 0, null, 0, 0, h);
        break;
      default:
        for (int i = 0; i < r.rangeCount; i++) {
          long offset = r.rangeSector[i] << SECTOR_SHIFT;
          long length = r.rangeSectors[i] << SECTOR_SHIFT;
          if (length == 0) {
            continue;
          }
          int op;
          if (r.op == BlkRequest.OP_DISCARD) {
            op = AsyncBlockDevice.OP_DISCARD;
          } else {
            boolean unmap = settings.writeZeroesMayUnmap && (r.rangeFlags[i] & RANGE_F_UNMAP) != 0;
            op = unmap ? AsyncBlockDevice.OP_WRITE_ZEROES_UNMAP : AsyncBlockDevice.OP_WRITE_ZEROES;
          }
          // Ranges are at most max_*_sectors (< 2^32 sectors) but the SPI takes an int length.
          while (length > 0) {
            int n = (int) Math.min(length, 1L << 30);
            submitOne(op, offset, null, 0, n, h);
            offset += n;
            length -= n;
          }
        }
        break;
    }
    opDone(h);
  }

  private void submitOne(
      int op, long offset, BytesStore<?, ?> store, long storeOffset, int length, int head) {
    remaining.incrementAndGet(head);
    try {
      asyncBackend.submit(op, offset, store, storeOffset, length, head, this);
    } catch (RuntimeException e) {
      // The backend refused synchronously: that op is done, with an error.
      firstError.compareAndSet(head, 0, BlkError.BACKEND_BUG.ordinal() + 1);
      opDone(head);
    }
  }

  /** Backend completion: any thread, any order, possibly inline from submit. */
  @Override
  public void complete(long token, BlockDeviceException error) {
    int head = (int) token;
    if (dead || head < 0 || head >= remaining.length()) {
      device.lateCompletion();
      return;
    }
    if (error != null) {
      firstError.compareAndSet(head, 0, BlkError.fromBackend(error.reason()).ordinal() + 1);
    }
    opDone(head);
  }

  private void opDone(int head) {
    if (remaining.decrementAndGet(head) != 0) {
      return;
    }
    int err = firstError.get(head);
    if (err == 0 && asyncFlushAfter[head] && !dead) {
      // Writethrough: the write is stable only once flushed (virtio 1.2 durability rules).
      asyncFlushAfter[head] = false;
      remaining.set(head, 1);
      submitOne(AsyncBlockDevice.OP_FLUSH, 0, null, 0, 0, head);
      opDone(head);
      return;
    }
    finishAsync(head, err);
  }

  private void finishAsync(int head, int err) {
    synchronized (pushLock) {
      if (dead) {
        device.lateCompletion();
        return;
      }
      int len;
      int status;
      if (err == 0) {
        status = BlkStatus.OK;
        len = asyncUsedLen[head];
        if (asyncBytesIn[head]) {
          stats.done.add(BlkQueueStats.BYTES_IN, asyncBytes[head]);
        } else {
          stats.done.add(BlkQueueStats.BYTES_OUT, asyncBytes[head]);
        }
      } else {
        BlkError e = ERRORS[err - 1];
        status = e.status();
        len = reportUsedLen ? 1 : 0;
        stats.done.increment(BlkQueueStats.ERRORS + err - 1);
      }
      HostMemory.putU8(asyncStatusHost[head], status);
      stats.done.increment(BlkQueueStats.COMPLETED);
      queue.addUsed(head, len);
      queue.notifyIfNeeded();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Stopping

  /**
   * Stops the queue: no more kicks are processed, the current processing pass ends, in-flight
   * requests get up to {@code drainNanos} to complete normally, then the queue is dead and later
   * completions are dropped. Returns the number of requests abandoned (0 unless the backend was too
   * slow).
   */
  int shutdown(long drainNanos) {
    stopping = true;
    processLock.lock();
    try {
      long deadline = System.nanoTime() + drainNanos;
      while (queue.inFlight() > 0 && System.nanoTime() - deadline < 0) {
        LockSupport.parkNanos(100_000);
      }
      int abandoned = queue.inFlight();
      synchronized (pushLock) {
        dead = true;
      }
      return abandoned;
    } finally {
      processLock.unlock();
    }
  }

  boolean isDead() {
    return dead;
  }

  /** The stats of this session were folded into the cumulative ones. */
  void markRetired() {
    retired = true;
  }

  boolean isRetired() {
    return retired;
  }
}
