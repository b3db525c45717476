package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.RateLimitedLog;
import dev.vdisk.remote.io.Streams;
import dev.vdisk.remote.io.Watchdog;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import net.openhft.chronicle.bytes.BytesStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of {@link NbdServer}: the handshake, then a reader that parses requests and hands them
 * to a few workers through preallocated {@link Job}s, so requests of one client run in parallel and
 * replies may leave out of order. A client that breaks the protocol (bad magic, an oversized WRITE,
 * unknown client flags, an absurd option) is logged and disconnected; a request that is merely
 * wrong (out of range, misaligned, a write to a read-only export) gets an error reply.
 */
final class NbdServerSession {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServerSession.class);
  private static final RateLimitedLog BAD_CLIENT = new RateLimitedLog(LOG);

  /** Largest option payload accepted in the handshake. */
  static final int MAX_OPTION_DATA = 64 * 1024;

  /** Options accepted before the client is considered to be stalling. */
  static final int MAX_OPTIONS = 1024;

  /** Extents answered per BLOCK_STATUS (without REQ_ONE). */
  static final int MAX_EXTENTS = 512;

  /** Zero buffer for WRITE_ZEROES on devices without native support. */
  private static final int ZERO_CHUNK = 1 << 20;

  private final SocketChannel ch;
  private final BlockDevice device;
  private final NbdServerOptions options;
  private final Consumer<NbdServerSession> onClose;
  private final String peer;
  private final boolean readOnly;
  private final BlockCapabilities caps;
  private final int blockSize;
  private final long size;

  private boolean structured;
  private boolean allocationSelected;
  private final ReentrantLock sendLock = new ReentrantLock();
  private final ByteBuffer replyHeader = ByteBuffer.allocateDirect(CHUNK_HEADER_SIZE + 8);
  // Header and payload of one reply, written together (one writev instead of two writes); both
  // guarded by sendLock.
  private final ByteBuffer[] replyPair = new ByteBuffer[2];
  private final ArrayBlockingQueue<Job> free;
  private final ArrayBlockingQueue<Job> work;
  private final Thread[] workers;
  private volatile boolean closed;

  NbdServerSession(
      SocketChannel ch,
      BlockDevice device,
      NbdServerOptions options,
      Consumer<NbdServerSession> onClose) {
    this.ch = ch;
    this.device = device;
    this.options = options;
    this.onClose = onClose;
    this.peer = describe(ch);
    this.readOnly = options.readOnly() || device.isReadOnly();
    this.caps = device.capabilities();
    this.blockSize = device.blockSize();
    this.size = device.size();
    int n = options.workersPerClient();
    this.free = new ArrayBlockingQueue<>(n * 2);
    this.work = new ArrayBlockingQueue<>(n * 2);
    for (int i = 0; i < n * 2; i++) {
      free.add(new Job());
    }
    this.workers = new Thread[n];
    for (int i = 0; i < n; i++) {
      workers[i] = new Thread(this::workLoop, "nbd-worker " + peer + " #" + i);
      workers[i].setDaemon(true);
    }
  }

  private static String describe(SocketChannel ch) {
    try {
      Object a = ch.getRemoteAddress();
      return a == null || a.toString().isEmpty() ? "unix client" : a.toString();
    } catch (IOException e) {
      return "client";
    }
  }

  void start() {
    Thread t = new Thread(this::run, "nbd-session " + peer);
    t.setDaemon(true);
    t.start();
  }

  void close() {
    closed = true;
    try {
      ch.close();
    } catch (IOException ignored) {
      // Already gone.
    }
    for (Thread w : workers) {
      w.interrupt();
    }
  }

  private void run() {
    try {
      boolean go;
      try (Watchdog w = Watchdog.closeAfter(ch, options.handshakeTimeout())) {
        go = handshake();
      }
      if (go) {
        for (Thread w : workers) {
          w.start();
        }
        transmission();
      }
    } catch (NbdProtocolException e) {
      BAD_CLIENT.warn(
          "NBD client " + peer + " broke the protocol: " + e.getMessage() + "; disconnecting");
    } catch (EOFException e) {
      LOG.debug("NBD client {} disconnected: {}", peer, e.getMessage());
    } catch (IOException e) {
      if (!closed) {
        LOG.debug("NBD client {} connection failed: {}", peer, e.getMessage());
      }
    } finally {
      drainAndClose();
    }
  }

  private void drainAndClose() {
    // Let workers finish what they hold, then stop them.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (free.remainingCapacity() > 0 && System.nanoTime() < deadline && workers[0].isAlive()) {
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        break;
      }
    }
    close();
    for (Thread w : workers) {
      try {
        w.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (Job j : free) {
      j.release();
    }
    for (Job j : work) {
      j.release();
    }
    onClose.accept(this);
  }

  // ------------------------------------------------------------------ handshake

  /** Returns true when the client reached transmission, false when it left politely. */
  private boolean handshake() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(18);
    b.putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
    Streams.writeFully(ch, b.flip());
    ByteBuffer cf = ByteBuffer.allocate(4);
    Streams.readFully(ch, cf, "client flags");
    int clientFlags = cf.getInt(0);
    if ((clientFlags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) != 0) {
      throw new NbdProtocolException("unknown client flags 0x" + Integer.toHexString(clientFlags));
    }
    boolean noZeroes = (clientFlags & FLAG_NO_ZEROES) != 0;
    ByteBuffer header = ByteBuffer.allocate(OPTION_HEADER_SIZE);
    for (int i = 0; i < MAX_OPTIONS; i++) {
      header.clear();
      Streams.readFully(ch, header, "option header");
      long magic = header.getLong(0);
      int option = header.getInt(8);
      long length = Integer.toUnsignedLong(header.getInt(12));
      if (magic != IHAVEOPT) {
        throw new NbdProtocolException("bad option magic 0x" + Long.toHexString(magic));
      }
      if (length > MAX_OPTION_DATA) {
        throw new NbdProtocolException(
            "option "
                + option
                + " with "
                + length
                + " bytes of data (expected <= "
                + MAX_OPTION_DATA
                + ")");
      }
      ByteBuffer data = ByteBuffer.allocate((int) length);
      Streams.readFully(ch, data, "option data");
      data.flip();
      switch (option) {
        case OPT_EXPORT_NAME -> {
          String name = utf8(data, data.remaining());
          if (!nameMatches(name)) {
            throw new NbdProtocolException("EXPORT_NAME for unknown export '" + name + "'");
          }
          ByteBuffer r = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
          r.putLong(size).putShort((short) transmissionFlags());
          Streams.writeFully(ch, r.clear());
          return true;
        }
        case OPT_ABORT -> {
          optionReply(option, REP_ACK, null);
          return false;
        }
        case OPT_LIST -> {
          if (data.hasRemaining()) {
            optionError(option, REP_ERR_INVALID, "LIST takes no data");
          } else {
            byte[] n = options.exportName().getBytes(StandardCharsets.UTF_8);
            byte[] d = options.description().getBytes(StandardCharsets.UTF_8);
            ByteBuffer r =
                ByteBuffer.allocate(4 + n.length + d.length).putInt(n.length).put(n).put(d);
            optionReply(option, REP_SERVER, r.flip());
            optionReply(option, REP_ACK, null);
          }
        }
        case OPT_INFO, OPT_GO -> {
          if (infoOrGo(option, data) && option == OPT_GO) {
            return true;
          }
        }
        case OPT_STRUCTURED_REPLY -> {
          if (data.hasRemaining()) {
            optionError(option, REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
          } else {
            structured = true;
            optionReply(option, REP_ACK, null);
          }
        }
        case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(option, data);
        default -> optionError(option, REP_ERR_UNSUP, "option " + option + " not supported");
      }
    }
    throw new NbdProtocolException("more than " + MAX_OPTIONS + " options without GO");
  }

  private boolean nameMatches(String name) {
    return name.isEmpty() || name.equals(options.exportName());
  }

  private int transmissionFlags() {
    int f = TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_DF | TF_CAN_MULTI_CONN;
    if (readOnly) {
      f |= TF_READ_ONLY;
    } else {
      f |= TF_SEND_WRITE_ZEROES;
      if (caps.discard()) {
        f |= TF_SEND_TRIM;
      }
    }
    return f;
  }

  /** Returns true when the export was granted. */
  private boolean infoOrGo(int option, ByteBuffer data) throws IOException {
    if (data.remaining() < 6) {
      optionError(option, REP_ERR_INVALID, "INFO/GO data of " + data.remaining() + " bytes");
      return false;
    }
    long nameLength = Integer.toUnsignedLong(data.getInt());
    if (nameLength > data.remaining() - 2) {
      optionError(
          option, REP_ERR_INVALID, "export name length " + nameLength + " exceeds the option");
      return false;
    }
    String name = utf8(data, (int) nameLength);
    int count = Short.toUnsignedInt(data.getShort());
    if (data.remaining() != count * 2) {
      optionError(
          option, REP_ERR_INVALID, count + " info requests but " + data.remaining() + " bytes");
      return false;
    }
    if (!nameMatches(name)) {
      optionError(option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
      return false;
    }
    boolean wantName = false;
    boolean wantDescription = false;
    for (int i = 0; i < count; i++) {
      int t = Short.toUnsignedInt(data.getShort());
      wantName |= t == INFO_NAME;
      wantDescription |= t == INFO_DESCRIPTION;
    }
    // nbd-server answers INFO with size 0 (libnbd then shows 0); we send the real size for both.
    ByteBuffer export = ByteBuffer.allocate(12);
    export.putShort((short) INFO_EXPORT).putLong(size).putShort((short) transmissionFlags());
    optionReply(option, REP_INFO, export.flip());
    ByteBuffer bs = ByteBuffer.allocate(14);
    bs.putShort((short) INFO_BLOCK_SIZE).putInt(blockSize).putInt(Math.max(4096, blockSize));
    bs.putInt(DEFAULT_MAX_PAYLOAD);
    optionReply(option, REP_INFO, bs.flip());
    if (wantName) {
      byte[] n = options.exportName().getBytes(StandardCharsets.UTF_8);
      optionReply(
          option,
          REP_INFO,
          ByteBuffer.allocate(2 + n.length).putShort((short) INFO_NAME).put(n).flip());
    }
    if (wantDescription && !options.description().isEmpty()) {
      byte[] d = options.description().getBytes(StandardCharsets.UTF_8);
      optionReply(
          option,
          REP_INFO,
          ByteBuffer.allocate(2 + d.length).putShort((short) INFO_DESCRIPTION).put(d).flip());
    }
    optionReply(option, REP_ACK, null);
    return true;
  }

  private void metaContext(int option, ByteBuffer data) throws IOException {
    if (!structured) {
      optionError(option, REP_ERR_INVALID, "meta contexts need structured replies first");
      return;
    }
    if (data.remaining() < 8) {
      optionError(option, REP_ERR_INVALID, "meta context data of " + data.remaining() + " bytes");
      return;
    }
    long nameLength = Integer.toUnsignedLong(data.getInt());
    if (nameLength > data.remaining() - 4) {
      optionError(
          option, REP_ERR_INVALID, "export name length " + nameLength + " exceeds the option");
      return;
    }
    String name = utf8(data, (int) nameLength);
    long queries = Integer.toUnsignedLong(data.getInt());
    if (!nameMatches(name)) {
      optionError(option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
      return;
    }
    boolean match = option == OPT_LIST_META_CONTEXT && queries == 0;
    for (long i = 0; i < queries; i++) {
      if (data.remaining() < 4) {
        optionError(option, REP_ERR_INVALID, "query " + i + " of " + queries + " is missing");
        return;
      }
      long len = Integer.toUnsignedLong(data.getInt());
      if (len > data.remaining()) {
        optionError(option, REP_ERR_INVALID, "query length " + len + " exceeds the option");
        return;
      }
      String q = utf8(data, (int) len);
      match |= q.equals(BASE_ALLOCATION) || (option == OPT_LIST_META_CONTEXT && q.equals("base:"));
    }
    if (data.hasRemaining()) {
      optionError(option, REP_ERR_INVALID, data.remaining() + " stray bytes after the queries");
      return;
    }
    if (option == OPT_SET_META_CONTEXT) {
      allocationSelected = match;
    }
    if (match) {
      byte[] n = BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
      optionReply(
          option, REP_META_CONTEXT, ByteBuffer.allocate(4 + n.length).putInt(1).put(n).flip());
    }
    optionReply(option, REP_ACK, null);
  }

  private static String utf8(ByteBuffer data, int n) {
    byte[] b = new byte[n];
    data.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private void optionError(int option, int type, String message) throws IOException {
    optionReply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
  }

  private void optionReply(int option, int type, ByteBuffer data) throws IOException {
    int n = data == null ? 0 : data.remaining();
    ByteBuffer h = ByteBuffer.allocate(OPTION_REPLY_HEADER_SIZE);
    h.putLong(OPT_REPLY_MAGIC).putInt(option).putInt(type).putInt(n).flip();
    Streams.writeFully(ch, h);
    if (data != null) {
      Streams.writeFully(ch, data);
    }
  }

  // ------------------------------------------------------------------ transmission

  /** One request and its buffer; preallocated per session and reused. */
  private final class Job {
    int flags;
    int command;
    long handle;
    long offset;
    int length;
    BytesStore<?, ?> buffer;
    final NativeView view = new NativeView();
    final ByteBuffer status = ByteBuffer.allocateDirect(4 + MAX_EXTENTS * 8);

    /** A buffer of at least {@code n} bytes (grown once per session to the largest request). */
    BytesStore<?, ?> buffer(int n) {
      if (buffer == null || buffer.realCapacity() < n) {
        release();
        buffer = BytesStore.nativeStoreWithFixedCapacity(Math.max(n, 128 * 1024));
      }
      return buffer;
    }

    void release() {
      if (buffer != null) {
        buffer.releaseLast();
        buffer = null;
      }
    }
  }

  /**
   * Requests as the client sends them, read in bulk: a client with many requests in flight sends
   * them back to back, and one read(2) per 28-byte header was most of the session thread's system
   * calls. Read mode between calls; never more than its capacity is read ahead.
   */
  private final ByteBuffer input = ByteBuffer.allocateDirect(INPUT_BUFFER).flip();

  static final int INPUT_BUFFER = 64 * 1024;

  /**
   * Makes at least {@code n} (at most the buffer's capacity) bytes readable from {@link #input}.
   */
  private void fill(int n, String what) throws IOException {
    if (input.remaining() >= n) {
      return;
    }
    input.compact();
    try {
      while (input.position() < n) {
        if (ch.read(input) < 0) {
          throw new EOFException(
              "connection closed with "
                  + (n - input.position())
                  + " bytes of "
                  + what
                  + " still to come");
        }
      }
    } finally {
      input.flip();
    }
  }

  /**
   * Fills {@code dst} with the next bytes of the stream: those read ahead first, then the socket.
   */
  private void readPayload(ByteBuffer dst, String what) throws IOException {
    if (input.hasRemaining()) {
      int n = Math.min(input.remaining(), dst.remaining());
      int limit = input.limit();
      input.limit(input.position() + n);
      dst.put(input);
      input.limit(limit);
    }
    Streams.readFully(ch, dst, what);
  }

  private void transmission() throws IOException, NbdProtocolException {
    while (!closed) {
      fill(REQUEST_SIZE, "request header");
      int at = input.position();
      input.position(at + REQUEST_SIZE);
      int magic = input.getInt(at);
      if (magic != REQUEST_MAGIC) {
        throw new NbdProtocolException("bad request magic 0x" + Integer.toHexString(magic));
      }
      int flags = Short.toUnsignedInt(input.getShort(at + 4));
      int command = Short.toUnsignedInt(input.getShort(at + 6));
      long handle = input.getLong(at + 8);
      long offset = input.getLong(at + 16);
      long length = Integer.toUnsignedLong(input.getInt(at + 24));
      if (command == CMD_DISC) {
        return;
      }
      if (command == CMD_WRITE && length > DEFAULT_MAX_PAYLOAD) {
        throw new NbdProtocolException(
            "WRITE of "
                + length
                + " bytes (max "
                + DEFAULT_MAX_PAYLOAD
                + "); cannot resynchronise");
      }
      Job job;
      try {
        job = free.take();
      } catch (InterruptedException e) {
        return;
      }
      job.flags = flags;
      job.command = command;
      job.handle = handle;
      job.offset = offset;
      job.length = (int) length;
      if (command == CMD_WRITE) {
        try {
          readPayload(job.view.of(job.buffer((int) length), 0, (int) length), "WRITE data");
        } catch (IOException e) {
          free.add(job);
          throw e;
        }
      }
      if (runsHere(job)) {
        try {
          execute(job);
        } finally {
          free.add(job);
        }
      } else {
        work.add(job);
      }
    }
  }

  /**
   * True when the session thread should execute {@code job} itself instead of handing it to a
   * worker: a plain READ or WRITE while nothing else is in flight and no further request is already
   * read. The session thread would otherwise only wait in read(2) for the next request, and the
   * hand-over (a worker's wake-up, and the session's on the next request) was most of a lone
   * request's time: 4 KiB reads from a RAM disk at queue depth 1 went from 19-21k to 28-30k IOPS
   * (fio's libnbd engine). Anything that may wait on a disk's cache (FLUSH, FUA) and every request
   * of a burst still go to the workers, so a slow device keeps its parallelism.
   */
  private boolean runsHere(Job job) {
    boolean plain =
        job.command == CMD_READ || job.command == CMD_WRITE && (job.flags & CMD_FLAG_FUA) == 0;
    // Jobs out of the pool: this one, plus any a worker holds.
    return plain && free.remainingCapacity() == 1 && input.remaining() < REQUEST_SIZE;
  }

  private void workLoop() {
    while (!closed) {
      Job job;
      try {
        job = work.take();
      } catch (InterruptedException e) {
        return;
      }
      try {
        execute(job);
      } catch (IOException e) {
        if (!closed) {
          LOG.debug("NBD client {}: reply failed: {}", peer, e.getMessage());
          close();
        }
      } finally {
        free.add(job);
      }
    }
  }

  private void execute(Job j) throws IOException {
    String bad = validate(j);
    if (bad != null) {
      BAD_CLIENT.warn("NBD client " + peer + ": " + commandName(j.command) + " " + bad);
      replyError(
          j,
          bad.startsWith("to a read-only")
              ? EPERM
              : bad.startsWith("unsupported") ? ENOTSUP : EINVAL,
          bad);
      return;
    }
    try {
      switch (j.command) {
        case CMD_READ -> {
          BytesStore<?, ?> buf = j.buffer(j.length);
          device.read(j.offset, buf, 0, j.length);
          replyData(j, buf);
          return;
        }
        case CMD_WRITE -> {
          device.write(j.offset, j.buffer, 0, j.length);
          if ((j.flags & CMD_FLAG_FUA) != 0) {
            device.flush();
          }
        }
        case CMD_FLUSH -> device.flush();
        case CMD_TRIM -> {
          device.discard(j.offset, j.length);
          if ((j.flags & CMD_FLAG_FUA) != 0) {
            device.flush();
          }
        }
        case CMD_WRITE_ZEROES -> {
          writeZeroes(j);
          if ((j.flags & CMD_FLAG_FUA) != 0) {
            device.flush();
          }
        }
        case CMD_CACHE -> {
          // A hint; nothing to prefetch into.
        }
        case CMD_BLOCK_STATUS -> {
          blockStatus(j);
          return;
        }
        default -> throw new AssertionError("validated");
      }
      replySimple(j, 0);
    } catch (BlockDeviceException e) {
      replyError(j, errno(e), e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.warn(
          "NBD client {}: {} at {} failed: {}",
          peer,
          commandName(j.command),
          j.offset,
          e.toString());
      replyError(j, EIO, e.toString());
    }
  }

  /** Returns why a request cannot be carried out, or null. */
  private String validate(Job j) {
    int c = j.command;
    if (c > CMD_BLOCK_STATUS || c == CMD_DISC) {
      return "unsupported command " + c;
    }
    boolean writeSide = c == CMD_WRITE || c == CMD_TRIM || c == CMD_WRITE_ZEROES;
    if (writeSide && readOnly) {
      return "to a read-only export";
    }
    if (c == CMD_TRIM && !caps.discard()) {
      return "unsupported: TRIM was not advertised";
    }
    if (c == CMD_WRITE_ZEROES && (j.flags & CMD_FLAG_FAST_ZERO) != 0) {
      return "unsupported: FAST_ZERO";
    }
    if (c == CMD_BLOCK_STATUS && !allocationSelected) {
      return "without a negotiated base:allocation context";
    }
    if (c == CMD_FLUSH) {
      return null;
    }
    if (c == CMD_READ && j.length > DEFAULT_MAX_PAYLOAD) {
      return "of " + j.length + " bytes exceeds the maximum " + DEFAULT_MAX_PAYLOAD;
    }
    if (j.offset < 0 || j.offset > size || j.length > size - j.offset) {
      return "range ["
          + Long.toUnsignedString(j.offset)
          + ", +"
          + j.length
          + ") outside the export of "
          + size
          + " bytes";
    }
    if (j.length == 0 && c != CMD_WRITE && c != CMD_READ) {
      return "of length 0";
    }
    if (j.offset % blockSize != 0 || j.length % blockSize != 0) {
      return "range ["
          + j.offset
          + ", +"
          + j.length
          + ") not aligned to the block size "
          + blockSize;
    }
    return null;
  }

  private void writeZeroes(Job j) throws IOException {
    if (caps.writeZeroes()) {
      device.writeZeroes(j.offset, j.length, (j.flags & CMD_FLAG_NO_HOLE) == 0);
      return;
    }
    BytesStore<?, ?> zero = j.buffer(Math.min(j.length, ZERO_CHUNK));
    zero.zeroOut(0, Math.min(j.length, ZERO_CHUNK));
    for (long done = 0; done < j.length; done += ZERO_CHUNK) {
      device.write(j.offset + done, zero, 0, (int) Math.min(ZERO_CHUNK, j.length - done));
    }
  }

  private void blockStatus(Job j) throws IOException {
    ByteBuffer b = j.status;
    b.clear();
    b.putInt(1);
    int max = (j.flags & CMD_FLAG_REQ_ONE) != 0 ? 1 : MAX_EXTENTS;
    long pos = j.offset;
    long end = j.offset + j.length;
    int count = 0;
    int lastFlags = -1;
    while (pos < end) {
      long e = device.extent(pos, end - pos);
      long run = Math.min(Math.abs(e), end - pos);
      if (run <= 0) {
        throw new IOException("device reported an empty extent at " + pos);
      }
      int flags = e < 0 ? STATE_HOLE | STATE_ZERO : 0;
      if (flags == lastFlags && b.getInt(b.position() - 8) + run <= 0xffffffffL - blockSize) {
        int at = b.position() - 8;
        b.putInt(at, (int) (Integer.toUnsignedLong(b.getInt(at)) + run));
      } else {
        if (count == max) {
          break;
        }
        b.putInt((int) run).putInt(flags);
        count++;
        lastFlags = flags;
      }
      pos += run;
    }
    b.flip();
    sendLock.lock();
    try {
      chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE_BLOCK_STATUS, j.handle, b.remaining());
      Streams.writeFully(ch, replyPair, replyHeader, b);
    } finally {
      sendLock.unlock();
    }
  }

  private static int errno(BlockDeviceException e) {
    return switch (e.reason()) {
      case READ_ONLY -> EPERM;
      case UNSUPPORTED -> ENOTSUP;
      case OUT_OF_RANGE -> EINVAL;
      default -> EIO;
    };
  }

  private void chunkHeader(int flags, int type, long handle, long length) {
    replyHeader.clear();
    replyHeader.putInt(STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type);
    replyHeader.putLong(handle).putInt((int) length).flip();
  }

  private void replySimple(Job j, int error) throws IOException {
    sendLock.lock();
    try {
      replyHeader.clear();
      replyHeader.putInt(SIMPLE_REPLY_MAGIC).putInt(error).putLong(j.handle).flip();
      Streams.writeFully(ch, replyHeader);
    } finally {
      sendLock.unlock();
    }
  }

  private void replyData(Job j, BytesStore<?, ?> buf) throws IOException {
    ByteBuffer data = j.view.of(buf, 0, j.length);
    sendLock.lock();
    try {
      if (structured) {
        chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, j.handle, 8L + j.length);
        replyHeader.limit(CHUNK_HEADER_SIZE + 8).putLong(CHUNK_HEADER_SIZE, j.offset);
      } else {
        replyHeader.clear();
        replyHeader.putInt(SIMPLE_REPLY_MAGIC).putInt(0).putLong(j.handle).flip();
      }
      Streams.writeFully(ch, replyPair, replyHeader, data);
    } finally {
      sendLock.unlock();
    }
  }

  private void replyError(Job j, int error, String message) throws IOException {
    if (!structured || (j.command != CMD_READ && j.command != CMD_BLOCK_STATUS)) {
      replySimple(j, error);
      return;
    }
    byte[] m = message.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(m.length, 1024);
    ByteBuffer p = ByteBuffer.allocate(6 + n).putInt(error).putShort((short) n).put(m, 0, n).flip();
    sendLock.lock();
    try {
      chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE_ERROR, j.handle, p.remaining());
      Streams.writeFully(ch, replyPair, replyHeader, p);
    } finally {
      sendLock.unlock();
    }
  }
}
