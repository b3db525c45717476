package dev.vdisk.remote.imdisk;

import static dev.vdisk.remote.imdisk.ImDiskProtocol.*;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.io.NativeView;
import dev.vdisk.remote.io.RateLimitedLog;
import dev.vdisk.remote.io.Streams;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.openhft.chronicle.bytes.BytesStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one {@link BlockDevice} over ImDisk's proxy protocol, compatible with devio: an optional
 * leading CONNECT (answered 0, 0, as ImDisk's helper service expects), then INFO, READ, WRITE,
 * UNMAP, ZERO until CLOSE or a dropped connection. Several clients may connect (devio takes only
 * one). A READ is clamped to the transfer buffer and the disk's end and the client loops, as the
 * ImDisk driver does; a WRITE is streamed through the buffer. Requests that cannot be kept in step
 * with (an unknown code, a WRITE or range list longer than the disk) are answered with ENODEV or
 * dropped, and logged.
 */
public final class ImDiskProxyServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ImDiskProxyServer.class);
  private static final RateLimitedLog BAD_CLIENT = new RateLimitedLog(LOG);

  /** Transfer buffer per client; READs are clamped to it. */
  static final int BUFFER = 1 << 20;

  /** Range lists longer than this are refused (4096 ranges). */
  static final int MAX_RANGES_BYTES = 4096 * RANGE_SIZE;

  private final ServerSocketChannel listener;
  private final Endpoint endpoint;
  private final BlockDevice device;
  private final boolean readOnly;
  private final int maxClients;
  private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean closed;

  private ImDiskProxyServer(
      ServerSocketChannel l, Endpoint e, BlockDevice d, boolean ro, int maxClients) {
    this.listener = l;
    this.endpoint = e;
    this.device = d;
    this.readOnly = ro || d.isReadOnly();
    this.maxClients = maxClients;
    this.acceptor = new Thread(this::acceptLoop, "imdisk-server " + e);
    acceptor.setDaemon(true);
  }

  public static ImDiskProxyServer start(Endpoint where, BlockDevice device, boolean readOnly)
      throws IOException {
    ServerSocketChannel l = where.bind(16);
    Endpoint actual = where.isUnix() ? where : Endpoint.of(l.getLocalAddress());
    ImDiskProxyServer s = new ImDiskProxyServer(l, actual, device, readOnly, 16);
    s.acceptor.start();
    LOG.info("ImDisk proxy server exporting {} on {}", device, actual);
    return s;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  /** INFO flags this server advertises. */
  long infoFlags() {
    if (readOnly) {
      return FLAG_RO;
    }
    BlockCapabilities caps = device.capabilities();
    return (caps.discard() ? FLAG_SUPPORTS_UNMAP : 0) | FLAG_SUPPORTS_ZERO;
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = listener.accept();
      } catch (AsynchronousCloseException e) {
        return;
      } catch (IOException e) {
        LOG.warn("ImDisk server on {}: accept failed: {}", endpoint, e.getMessage());
        try {
          Thread.sleep(100);
        } catch (InterruptedException ie) {
          return;
        }
        continue;
      }
      if (clients.size() >= maxClients) {
        BAD_CLIENT.warn("ImDisk server on " + endpoint + ": too many clients; closing the new one");
        try {
          ch.close();
        } catch (IOException ignored) {
          // Refused anyway.
        }
        continue;
      }
      clients.add(ch);
      Thread t = new Thread(() -> serve(ch), "imdisk-session " + endpoint);
      t.setDaemon(true);
      t.start();
    }
  }

  private void serve(SocketChannel ch) {
    Session s = new Session(ch);
    try {
      s.run();
    } catch (EOFException e) {
      LOG.debug("ImDisk client left: {}", e.getMessage());
    } catch (IOException e) {
      if (!closed) {
        LOG.debug("ImDisk client connection failed: {}", e.getMessage());
      }
    } finally {
      s.release();
      clients.remove(ch);
      try {
        ch.close();
      } catch (IOException ignored) {
        // Done with it.
      }
    }
  }

  /** One client's stream. */
  private final class Session {
    private final SocketChannel ch;
    private final ByteBuffer code = le(8);
    private final ByteBuffer fixed = le(CONNECT_HEADER_SIZE);
    private final ByteBuffer reply = le(INFO_RESPONSE_SIZE);
    private final ByteBuffer ranges = le(MAX_RANGES_BYTES);
    private final BytesStore<?, Void> buffer = BytesStore.nativeStoreWithFixedCapacity(BUFFER);
    private final NativeView view = new NativeView();

    Session(SocketChannel ch) {
      this.ch = ch;
    }

    void release() {
      buffer.releaseLast();
    }

    void run() throws IOException {
      for (long n = 0; ; n++) {
        code.clear();
        Streams.readFully(ch, code, "request code");
        long c = code.getLong(0);
        if (c == REQ_CONNECT && n == 0) {
          connect();
        } else if (c == REQ_INFO) {
          reply.clear();
          reply
              .putLong(device.size())
              .putLong(Math.min(device.blockSize(), MAX_ALIGNMENT))
              .putLong(infoFlags());
          Streams.writeFully(ch, reply.flip());
        } else if (c == REQ_READ) {
          read();
        } else if (c == REQ_WRITE) {
          write();
        } else if (c == REQ_UNMAP || c == REQ_ZERO) {
          rangeRequest(c);
        } else if (c == REQ_CLOSE) {
          return;
        } else {
          // devio answers ENODEV without reading the rest; the stream is then out of step, so
          // after answering we close it.
          BAD_CLIENT.warn(
              "ImDisk client sent request " + codeName(c) + "; answering ENODEV and closing");
          reply.clear();
          Streams.writeFully(ch, reply.putLong(ENODEV).flip());
          return;
        }
      }
    }

    private void readFixed(int n, String what) throws IOException {
      fixed.clear().limit(n);
      Streams.readFully(ch, fixed, what);
    }

    private void connect() throws IOException {
      readFixed(16, "CONNECT header");
      long length = fixed.getLong(8);
      if (length > MAX_CONNECT_STRING) {
        throw new IOException(
            "CONNECT string of "
                + Long.toUnsignedString(length)
                + " bytes (max "
                + MAX_CONNECT_STRING
                + ")");
      }
      Streams.skip(ch, length, ranges.clear(), "CONNECT string");
      // There is one disk here whatever the path names; object_ptr is meaningless remotely.
      reply.clear();
      Streams.writeFully(ch, reply.putLong(0).putLong(0).flip());
    }

    private boolean inRange(long offset, long length) {
      return offset >= 0
          && length >= 0
          && offset <= device.size()
          && length <= device.size() - offset;
    }

    private boolean aligned(long offset, long length) {
      return offset % device.blockSize() == 0 && length % device.blockSize() == 0;
    }

    private void answer(long errno, long length) throws IOException {
      reply.clear();
      Streams.writeFully(ch, reply.putLong(errno).putLong(length).flip());
    }

    private void read() throws IOException {
      readFixed(16, "READ header");
      long offset = fixed.getLong(0);
      long length = fixed.getLong(8);
      if (offset < 0 || offset > device.size()) {
        BAD_CLIENT.warn(
            "ImDisk client READ at offset "
                + Long.toUnsignedString(offset)
                + " beyond the disk of "
                + device.size());
        answer(EINVAL, 0);
        return;
      }
      // Clamp like devio does to its buffer; the client asks again for the rest.
      long want = Long.compareUnsigned(length, BUFFER) > 0 ? BUFFER : length;
      int n = (int) Math.min(want, device.size() - offset);
      if (!aligned(offset, n)) {
        answer(EINVAL, 0);
        return;
      }
      try {
        device.read(offset, buffer, 0, n);
      } catch (BlockDeviceException e) {
        answer(EIO, 0);
        return;
      }
      answer(0, n);
      Streams.writeFully(ch, view.of(buffer, 0, n));
    }

    private void write() throws IOException {
      readFixed(16, "WRITE header");
      long offset = fixed.getLong(0);
      long length = fixed.getLong(8);
      if (!inRange(offset, length)) {
        // We cannot consume an absurd payload to stay in step (devio drops too).
        throw new IOException(
            "WRITE of "
                + Long.toUnsignedString(length)
                + " bytes at "
                + Long.toUnsignedString(offset)
                + " outside the disk of "
                + device.size()
                + "; dropping the client");
      }
      long errno = readOnly ? EBADF : aligned(offset, length) ? 0 : EINVAL;
      for (long done = 0; done < length; ) {
        int n = (int) Math.min(BUFFER, length - done);
        Streams.readFully(ch, view.of(buffer, 0, n), "WRITE data");
        if (errno == 0) {
          try {
            device.write(offset + done, buffer, 0, n);
          } catch (BlockDeviceException e) {
            errno = EIO;
          }
        }
        done += n;
      }
      answer(errno, errno == 0 ? length : 0);
    }

    private void rangeRequest(long c) throws IOException {
      readFixed(8, codeName(c) + " header");
      long length = fixed.getLong(0);
      if (Long.compareUnsigned(length, MAX_RANGES_BYTES) > 0 || length % RANGE_SIZE != 0) {
        throw new IOException(
            codeName(c)
                + " with "
                + Long.toUnsignedString(length)
                + " bytes of ranges (expected a multiple of 16 up to "
                + MAX_RANGES_BYTES
                + "); dropping the client");
      }
      ranges.clear().limit((int) length);
      Streams.readFully(ch, ranges, codeName(c) + " ranges");
      long errno = readOnly ? EBADF : 0;
      for (int at = 0; at < length && errno == 0; at += RANGE_SIZE) {
        long off = ranges.getLong(at);
        long len = ranges.getLong(at + 8);
        if (!inRange(off, len) || !aligned(off, len)) {
          BAD_CLIENT.warn(
              "ImDisk client "
                  + codeName(c)
                  + " range ["
                  + off
                  + ", +"
                  + Long.toUnsignedString(len)
                  + ") is invalid");
          errno = EINVAL;
          break;
        }
        try {
          if (c == REQ_UNMAP) {
            device.discard(off, len);
          } else {
            device.writeZeroes(off, len, false);
          }
        } catch (BlockDeviceException e) {
          errno = EIO;
        }
      }
      reply.clear();
      Streams.writeFully(ch, reply.putLong(errno).flip());
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    for (SocketChannel c : clients) {
      c.close();
    }
    if (endpoint.isUnix()) {
      Files.deleteIfExists(endpoint.unixPath());
    }
  }
}
