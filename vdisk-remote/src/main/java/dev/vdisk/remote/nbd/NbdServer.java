package dev.vdisk.remote.nbd;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.remote.io.Endpoint;
import dev.vdisk.remote.io.RateLimitedLog;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports one {@link BlockDevice} over NBD (fixed newstyle, TCP or a Unix socket) to several
 * clients at once. Each client gets its own session thread plus a few workers; see {@link
 * NbdServerSession}.
 */
public final class NbdServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);

  private final ServerSocketChannel listener;
  private final Endpoint endpoint;
  private final BlockDevice device;
  private final NbdServerOptions options;
  private final Set<NbdServerSession> sessions = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final RateLimitedLog rejectLog = new RateLimitedLog(LOG);
  private volatile boolean closed;

  private NbdServer(
      ServerSocketChannel listener,
      Endpoint endpoint,
      BlockDevice device,
      NbdServerOptions options) {
    this.listener = listener;
    this.endpoint = endpoint;
    this.device = device;
    this.options = options;
    this.acceptor = new Thread(this::acceptLoop, "nbd-server " + endpoint);
    acceptor.setDaemon(true);
  }

  /** Binds {@code where} (port 0 picks a free port) and starts accepting. */
  public static NbdServer start(Endpoint where, BlockDevice device, NbdServerOptions options)
      throws IOException {
    ServerSocketChannel ch = where.bind(options.maxClients());
    Endpoint actual = where.isUnix() ? where : Endpoint.of(ch.getLocalAddress());
    NbdServer s = new NbdServer(ch, actual, device, options);
    s.acceptor.start();
    LOG.info("NBD server exporting {} on {}", device, actual);
    return s;
  }

  /** Where the server listens. */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** Clients connected now. */
  public int clients() {
    return sessions.size();
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = listener.accept();
      } catch (AsynchronousCloseException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("NBD server on {}: accept failed: {}", endpoint, e.getMessage());
          try {
            Thread.sleep(100); // Keep a persistent accept error (EMFILE) from spinning.
          } catch (InterruptedException ie) {
            return;
          }
        }
        continue;
      }
      if (sessions.size() >= options.maxClients()) {
        rejectLog.warn(
            "NBD server on "
                + endpoint
                + ": more than "
                + options.maxClients()
                + " clients; closing the new one");
        closeQuietly(ch);
        continue;
      }
      NbdServerSession s = new NbdServerSession(ch, device, options, sessions::remove);
      sessions.add(s);
      s.start();
    }
  }

  private static void closeQuietly(SocketChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // Nothing more to do for a connection we refuse.
    }
  }

  /** Blocks until the server is closed. */
  public void awaitClose() throws InterruptedException {
    acceptor.join();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    for (NbdServerSession s : sessions) {
      s.close();
    }
    try {
      acceptor.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (endpoint.isUnix()) {
      java.nio.file.Files.deleteIfExists(endpoint.unixPath());
    }
  }
}
