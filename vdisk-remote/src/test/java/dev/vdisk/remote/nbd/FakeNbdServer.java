package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.io.Streams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted NBD server for bad-input tests: it negotiates normally (optionally with structured
 * replies and base:allocation as context 7), then hands each connection to a {@link Script} that
 * reads requests and writes whatever bytes the test wants.
 */
final class FakeNbdServer implements AutoCloseable {
  interface Script {
    void serve(Conn c, int connectionNumber) throws IOException;
  }

  /** One accepted connection with request/reply helpers. */
  static final class Conn {
    final SocketChannel ch;

    Conn(SocketChannel ch) {
      this.ch = ch;
    }

    /** Reads one request header; returns [flags, type, handle, offset, length] plus payload. */
    Request request() throws IOException {
      ByteBuffer h = ByteBuffer.allocate(REQUEST_SIZE);
      Streams.readFully(ch, h, "request");
      Request r =
          new Request(
              h.getShort(4) & 0xffff,
              h.getShort(6) & 0xffff,
              h.getLong(8),
              h.getLong(16),
              h.getInt(24));
      if (r.type == CMD_WRITE) {
        Streams.readFully(ch, ByteBuffer.allocate(r.length), "payload");
      }
      return r;
    }

    void write(ByteBuffer b) throws IOException {
      Streams.writeFully(ch, b.flip());
    }

    void simple(long handle, int error, byte[] data) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(16 + (data == null ? 0 : data.length));
      b.putInt(SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
      if (data != null) {
        b.put(data);
      }
      write(b);
    }

    void chunk(int flags, int type, long handle, byte[] payload) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
      b.putInt(STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type);
      b.putLong(handle).putInt(payload.length).put(payload);
      write(b);
    }
  }

  record Request(int flags, int type, long handle, long offset, int length) {}

  private final ServerSocketChannel listener;
  private final Endpoint endpoint;
  private final Thread thread;
  final AtomicInteger connections = new AtomicInteger();
  volatile Throwable failure;

  FakeNbdServer(Path socket, boolean structured, long size, Script script) throws IOException {
    this.endpoint = Endpoint.unix(socket);
    this.listener = endpoint.bind(4);
    this.thread =
        new Thread(
            () -> {
              while (true) {
                try (SocketChannel ch = listener.accept()) {
                  int n = connections.incrementAndGet();
                  handshake(ch, structured, size);
                  script.serve(new Conn(ch), n);
                } catch (IOException e) {
                  if (!listener.isOpen()) {
                    return;
                  }
                } catch (Throwable t) {
                  failure = t;
                }
              }
            },
            "fake-nbd");
    thread.setDaemon(true);
    thread.start();
  }

  Endpoint endpoint() {
    return endpoint;
  }

  NbdTarget target() {
    return new NbdTarget(endpoint, "", false);
  }

  private static void handshake(SocketChannel ch, boolean structured, long size)
      throws IOException {
    ByteBuffer g = ByteBuffer.allocate(18);
    g.putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
    Streams.writeFully(ch, g.flip());
    Streams.readFully(ch, ByteBuffer.allocate(4), "flags");
    while (true) {
      ByteBuffer h = ByteBuffer.allocate(16);
      Streams.readFully(ch, h, "option");
      int option = h.getInt(8);
      int len = h.getInt(12);
      Streams.readFully(ch, ByteBuffer.allocate(len), "option data");
      switch (option) {
        case OPT_STRUCTURED_REPLY ->
            reply(ch, option, structured ? REP_ACK : REP_ERR_UNSUP, new byte[0]);
        case OPT_SET_META_CONTEXT -> {
          if (structured) {
            byte[] n = BASE_ALLOCATION.getBytes();
            reply(
                ch,
                option,
                REP_META_CONTEXT,
                ByteBuffer.allocate(4 + n.length).putInt(7).put(n).array());
          }
          reply(ch, option, REP_ACK, new byte[0]);
        }
        case OPT_GO -> {
          int flags =
              TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_TRIM | TF_SEND_WRITE_ZEROES | TF_SEND_FUA;
          reply(
              ch,
              option,
              REP_INFO,
              ByteBuffer.allocate(12)
                  .putShort((short) 0)
                  .putLong(size)
                  .putShort((short) flags)
                  .array());
          reply(ch, option, REP_ACK, new byte[0]);
          return;
        }
        default -> reply(ch, option, REP_ERR_UNSUP, new byte[0]);
      }
    }
  }

  private static void reply(SocketChannel ch, int option, int type, byte[] data)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(20 + data.length);
    b.putLong(OPT_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.length).put(data);
    Streams.writeFully(ch, b.flip());
  }

  @Override
  public void close() throws IOException {
    listener.close();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
