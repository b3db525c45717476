package dev.vdisk.remote.imdisk;

import static dev.vdisk.remote.imdisk.ImDiskProtocol.*;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.Geometry;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.RateLimitedLog;
import dev.vdisk.remote.io.Streams;
import dev.vdisk.remote.io.Watchdog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import net.openhft.chronicle.bytes.BytesStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A disk served over ImDisk's proxy protocol (devio or vdisk's own {@link ImDiskProxyServer}). The
 * protocol has one request in flight and no ids, so requests are serialised under a lock. Like the
 * ImDisk driver, a READ asks for what remains and advances by what the server returns; unlike it,
 * every returned length is checked against what was asked before a byte is read, and requests are
 * bound-checked here because devio does not check them against its advertised size.
 *
 * <p>A stream that fails (drop, timeout, a length beyond the request) is closed; the next request
 * reconnects once. A READ that failed that way is retried on the new stream; a WRITE is not, since
 * the server may or may not have written it.
 */
public final class ImDiskProxyClient implements BlockDevice {
  private static final Logger LOG = LoggerFactory.getLogger(ImDiskProxyClient.class);

  /** Largest single READ/WRITE sent (devio drops a WRITE larger than its 64 MiB buffer). */
  static final int MAX_TRANSFER = 1 << 20;

  private static final int BLOCK = 512;

  private final ImDiskTarget target;
  private final Duration timeout;
  private final boolean forceReadOnly;
  private final long size;
  private final long alignment;
  private final long flags;
  private final RateLimitedLog badPeer = new RateLimitedLog(LOG);

  private final ReentrantLock lock = new ReentrantLock();
  private final ByteBuffer header = le(32);
  private final ByteBuffer response = le(IO_RESPONSE_SIZE);
  private final ByteBuffer[] gather = new ByteBuffer[2];
  private final NativeView view = new NativeView();
  private BytesStore<?, Void> zeroes;
  private SocketChannel ch;
  private boolean closed;

  private ImDiskProxyClient(
      ImDiskTarget target, Duration timeout, boolean readOnly, SocketChannel ch, long[] info) {
    this.target = target;
    this.timeout = timeout;
    this.forceReadOnly = readOnly;
    this.ch = ch;
    this.size = info[0] - info[0] % BLOCK;
    this.alignment = info[1];
    this.flags = info[2];
  }

  public static ImDiskProxyClient open(ImDiskTarget target, Duration timeout, boolean readOnly)
      throws IOException {
    SocketChannel ch = target.endpoint().connect(timeout);
    long[] info;
    try {
      info = handshake(ch, target, timeout);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    if (info[0] < BLOCK) {
      ch.close();
      throw new IOException(
          "ImDisk server "
              + target.endpoint()
              + " reports a size of "
              + Long.toUnsignedString(info[0])
              + " bytes (0 = unknown; a disk needs at least 512)");
    }
    if (info[1] < 1 || info[1] > MAX_ALIGNMENT) {
      ch.close();
      throw new IOException(
          "ImDisk server "
              + target.endpoint()
              + " requires alignment "
              + Long.toUnsignedString(info[1])
              + " (the ImDisk driver accepts 1..512)");
    }
    return new ImDiskProxyClient(target, timeout, readOnly, ch, info);
  }

  /** Optional CONNECT, then INFO; returns {size, alignment, flags}. */
  private static long[] handshake(SocketChannel ch, ImDiskTarget target, Duration timeout)
      throws IOException {
    try (Watchdog w = Watchdog.closeAfter(ch, timeout)) {
      if (target.connectPath() != null) {
        Streams.writeFully(ch, ImDiskProtocol.connect(target.connectPath()));
        ByteBuffer r = le(CONNECT_RESPONSE_SIZE);
        Streams.readFully(ch, r, "CONNECT response");
        long error = r.getLong(0);
        if (error != 0) {
          throw new IOException(
              "ImDisk server "
                  + target.endpoint()
                  + " refused CONNECT to '"
                  + target.connectPath()
                  + "': error 0x"
                  + Long.toHexString(error));
        }
      }
      Streams.writeFully(ch, info(le(INFO_REQUEST_SIZE)));
      ByteBuffer r = le(INFO_RESPONSE_SIZE);
      Streams.readFully(ch, r, "INFO response");
      long size = r.getLong(0);
      if (size < 0) {
        throw new IOException(
            "ImDisk server "
                + target.endpoint()
                + " reports size "
                + Long.toUnsignedString(size)
                + " (expected < 2^63)");
      }
      return new long[] {size, r.getLong(8), r.getLong(16)};
    } catch (IOException e) {
      throw new IOException(
          "ImDisk handshake with " + target.endpoint() + " failed: " + e.getMessage(), e);
    }
  }

  /** INFO flags the server sent. */
  public long serverFlags() {
    return flags;
  }

  /** Alignment the server requires. */
  public long alignment() {
    return alignment;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int blockSize() {
    return BLOCK;
  }

  @Override
  public boolean isReadOnly() {
    return forceReadOnly || (flags & FLAG_RO) != 0;
  }

  @Override
  public BlockCapabilities capabilities() {
    if (isReadOnly()) {
      return BlockCapabilities.READ_WRITE_ONLY;
    }
    boolean unmap = (flags & FLAG_SUPPORTS_UNMAP) != 0;
    // Zeroes are always possible: with ZERO when the server has it, else by writing zeroes.
    return new BlockCapabilities(false, unmap, true, false, false, 1L << 40, unmap ? BLOCK : 0);
  }

  @Override
  public Geometry geometry() {
    return Geometry.forHardDisk(size, BLOCK);
  }

  private void checkRange(long offset, long length, boolean write) throws BlockDeviceException {
    if (closed) {
      throw new BlockDeviceException(Reason.IO_ERROR, "ImDisk device is closed", offset, length);
    }
    if (write && isReadOnly()) {
      throw new BlockDeviceException(
          Reason.READ_ONLY, "ImDisk disk " + target.endpoint() + " is read-only", offset, length);
    }
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE, "range outside the disk of " + size + " bytes", offset, length);
    }
    if (offset % alignment != 0 || length % alignment != 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "range not aligned to the server's " + alignment + " bytes",
          offset,
          length);
    }
  }

  private static void checkStore(BytesStore<?, ?> s, long off, int length, long offset)
      throws BlockDeviceException {
    if (!NativeView.fits(s, off, length)) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "memory [" + off + ", +" + length + ") is not inside a native store",
          offset,
          length);
    }
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws IOException {
    checkRange(offset, length, false);
    checkStore(dst, dstOffset, length, offset);
    lock.lock();
    try {
      for (int attempt = 0; ; attempt++) {
        try {
          readLocked(offset, dst, dstOffset, length);
          return;
        } catch (StreamBroken e) {
          drop();
          if (attempt > 0) {
            throw ioError("READ", offset, length, e);
          }
        }
      }
    } finally {
      lock.unlock();
    }
  }

  private void readLocked(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws IOException, StreamBroken {
    SocketChannel c = channel();
    long done = 0;
    try (Watchdog w = Watchdog.closeAfter(c, timeout)) {
      while (done < length) {
        long ask = Math.min(MAX_TRANSFER, length - done);
        Streams.writeFully(c, io(header, REQ_READ, offset + done, ask));
        response.clear();
        Streams.readFully(c, response, "READ response");
        long errno = response.getLong(0);
        long got = response.getLong(8);
        if (errno != 0) {
          throw serverError("READ", errno, offset + done, ask);
        }
        if (Long.compareUnsigned(got, ask) > 0) {
          String m =
              "ImDisk server "
                  + target.endpoint()
                  + " answered a READ of "
                  + ask
                  + " bytes with length "
                  + Long.toUnsignedString(got)
                  + " (more than asked)";
          badPeer.warn(m);
          drop(); // The stream is out of step: we will not read an unknown amount of data.
          throw new BlockDeviceException(Reason.IO_ERROR, m, offset, length);
        }
        if (got == 0) {
          throw new BlockDeviceException(
              Reason.IO_ERROR,
              "ImDisk server " + target.endpoint() + " returned no data at " + (offset + done),
              offset,
              length);
        }
        Streams.readFully(c, view.of(dst, dstOffset + done, (int) got), "READ data");
        done += got;
      }
    } catch (BlockDeviceException e) {
      throw e;
    } catch (IOException e) {
      throw new StreamBroken(e);
    }
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws IOException {
    checkRange(offset, length, true);
    checkStore(src, srcOffset, length, offset);
    lock.lock();
    try {
      SocketChannel c = channelOrFail("WRITE", offset, length);
      try (Watchdog w = Watchdog.closeAfter(c, timeout)) {
        for (long done = 0; done < length; ) {
          int n = (int) Math.min(MAX_TRANSFER, length - done);
          gather[0] = io(header, REQ_WRITE, offset + done, n);
          gather[1] = view.of(src, srcOffset + done, n);
          try {
            while (gather[1].hasRemaining()) {
              c.write(gather);
            }
          } finally {
            gather[1] = null;
          }
          response.clear();
          Streams.readFully(c, response, "WRITE response");
          long errno = response.getLong(0);
          long wrote = response.getLong(8);
          if (errno != 0) {
            throw serverError("WRITE", errno, offset + done, n);
          }
          if (wrote != n) {
            String m =
                "ImDisk server "
                    + target.endpoint()
                    + " wrote "
                    + Long.toUnsignedString(wrote)
                    + " of "
                    + n
                    + " bytes";
            badPeer.warn(m);
            throw new BlockDeviceException(Reason.IO_ERROR, m, offset, length);
          }
          done += n;
        }
      } catch (BlockDeviceException e) {
        throw e;
      } catch (IOException e) {
        drop();
        throw ioError("WRITE (it may or may not have been written)", offset, length, e);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void flush() throws IOException {
    // The protocol has no flush: devio writes through to its file on every WRITE.
    if (closed) {
      throw new BlockDeviceException(Reason.IO_ERROR, "ImDisk device is closed", 0, 0);
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    checkRange(offset, length, true);
    if ((flags & FLAG_SUPPORTS_UNMAP) == 0) {
      throw new BlockDeviceException(
          Reason.UNSUPPORTED, "server does not support UNMAP", offset, length);
    }
    rangeRequest(REQ_UNMAP, offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkRange(offset, length, true);
    if ((flags & FLAG_SUPPORTS_ZERO) != 0) {
      rangeRequest(REQ_ZERO, offset, length);
      return;
    }
    lock.lock();
    try {
      if (zeroes == null) {
        zeroes = BytesStore.nativeStoreWithFixedCapacity(MAX_TRANSFER);
        zeroes.zeroOut(0, MAX_TRANSFER);
      }
    } finally {
      lock.unlock();
    }
    for (long done = 0; done < length; done += MAX_TRANSFER) {
      write(offset + done, zeroes, 0, (int) Math.min(MAX_TRANSFER, length - done));
    }
  }

  private void rangeRequest(long code, long offset, long length) throws IOException {
    lock.lock();
    try {
      SocketChannel c = channelOrFail(codeName(code), offset, length);
      try (Watchdog w = Watchdog.closeAfter(c, timeout)) {
        Streams.writeFully(c, range(header, code, offset, length));
        response.clear().limit(RANGE_RESPONSE_SIZE);
        Streams.readFully(c, response, codeName(code) + " response");
        long errno = response.getLong(0);
        if (errno != 0) {
          throw serverError(codeName(code), errno, offset, length);
        }
      } catch (BlockDeviceException e) {
        throw e;
      } catch (IOException e) {
        drop();
        throw ioError(codeName(code), offset, length, e);
      }
    } finally {
      lock.unlock();
    }
  }

  private BlockDeviceException serverError(String what, long errno, long offset, long length) {
    Reason r = errno == EBADF && isReadOnlyOnServer() ? Reason.READ_ONLY : Reason.IO_ERROR;
    return new BlockDeviceException(
        r,
        "ImDisk server "
            + target.endpoint()
            + " answered "
            + what
            + " with errno "
            + Long.toUnsignedString(errno),
        offset,
        length);
  }

  private boolean isReadOnlyOnServer() {
    return (flags & FLAG_RO) != 0;
  }

  private BlockDeviceException ioError(String what, long offset, long length, Exception cause) {
    return new BlockDeviceException(
        Reason.IO_ERROR,
        "ImDisk " + what + " on " + target.endpoint() + " failed: " + cause.getMessage(),
        offset,
        length,
        cause);
  }

  /** Caller holds the lock: the open stream, reconnecting if the last one broke. */
  private SocketChannel channel() throws StreamBroken {
    if (ch != null && ch.isOpen()) {
      return ch;
    }
    try {
      SocketChannel fresh = target.endpoint().connect(timeout);
      long[] info;
      try {
        info = handshake(fresh, target, timeout);
      } catch (IOException e) {
        fresh.close();
        throw e;
      }
      if (info[0] - info[0] % BLOCK != size || info[1] != alignment || info[2] != flags) {
        fresh.close();
        throw new IOException(
            "disk changed across reconnect (size " + size + " -> " + info[0] + ")");
      }
      ch = fresh;
      LOG.info("ImDisk connection to {} re-established", target.endpoint());
      return ch;
    } catch (IOException e) {
      throw new StreamBroken(e);
    }
  }

  private SocketChannel channelOrFail(String what, long offset, long length)
      throws BlockDeviceException {
    try {
      return channel();
    } catch (StreamBroken e) {
      throw ioError(what, offset, length, e);
    }
  }

  private void drop() {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // Already broken.
      }
    }
  }

  /** The stream failed below the protocol (drop, timeout); the request may be retried. */
  private static final class StreamBroken extends Exception {
    private static final long serialVersionUID = 1L;

    StreamBroken(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  @Override
  public void close() throws IOException {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      if (ch != null && ch.isOpen()) {
        try {
          Streams.writeFully(ch, ImDiskProtocol.close(header));
        } catch (IOException ignored) {
          // The server went away first.
        }
        ch.close();
      }
      if (zeroes != null) {
        zeroes.releaseLast();
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ImDiskProxyClient{" + target.endpoint() + ", " + size + " bytes}";
  }
}
