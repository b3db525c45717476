package dev.vdisk.vhost;

import dev.vdisk.vhost.natives.Errno;
import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.NativeException;
import dev.vdisk.vhost.natives.PollSet;
import dev.vdisk.vhost.natives.UnixSocket;
import dev.vdisk.virtio.VirtioDevice;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A vhost-user back end serving one {@link VirtioDevice} on a Unix socket: the VMM (QEMU's {@code
 * -chardev socket,path=...} with {@code -device vhost-user-blk-pci}, Cloud Hypervisor, crosvm)
 * connects and drives the device's virtqueues in guest memory it shares.
 *
 * <p>One front end at a time, as vhost-user is one-to-one; when it disconnects (or is refused for a
 * protocol error) the device is reset and the next connection is accepted, which is how QEMU's
 * {@code reconnect=} and a restarted VMM find the disk again. The server itself never stops because
 * of what a front end sends.
 */
public final class VhostUserServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(VhostUserServer.class);

  /** Tunables a connection needs. */
  record Options(int maxMemSlots, long protocolFeatures, int activationDelayMillis) {}

  /** Told when a connection ends, with the one-line reason the server also logs. */
  @FunctionalInterface
  public interface ConnectionListener {
    void closed(int number, String peer, long messages, String reason);
  }

  private final Path socketPath;
  private final VirtioDevice device;
  private final ConnectionListener listenerHook;
  private final Options options;
  private final VhostUserStats stats = new VhostUserStats();
  private final AtomicInteger connectionCounter = new AtomicInteger();
  private final CountDownLatch finished = new CountDownLatch(1);
  private final UnixSocket listener;
  private final EventFd stop;
  private final Thread thread;
  private volatile boolean closed;

  private VhostUserServer(Builder b) throws IOException {
    this.socketPath = b.socketPath;
    this.device = b.device;
    this.listenerHook = b.connectionListener;
    long pf =
        VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.MQ)
            | VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.REPLY_ACK)
            | VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.CONFIG)
            | VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.BACKEND_REQ)
            | VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.RESET_DEVICE);
    if (b.configureMemSlots) {
      pf |= VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.CONFIGURE_MEM_SLOTS);
    }
    if (b.status) {
      pf |= VhostUserProtocolFeatures.bit(VhostUserProtocolFeatures.STATUS);
    }
    this.options = new Options(b.maxMemSlots, pf, b.activationDelayMillis);
    this.listener = bind(socketPath);
    try {
      this.stop = EventFd.create();
    } catch (NativeException e) {
      listener.close();
      throw e;
    }
    this.thread = new Thread(this::acceptLoop, "vdisk-vhost-user-server");
    thread.setDaemon(true);
  }

  public static Builder builder(Path socketPath, VirtioDevice device) {
    return new Builder(socketPath, device);
  }

  /** Configures a server; {@link #start} binds the socket and starts accepting. */
  public static final class Builder {
    private final Path socketPath;
    private final VirtioDevice device;
    private int maxMemSlots = 32;
    private boolean configureMemSlots = true;
    private boolean status = true;
    private int activationDelayMillis = 50;
    private ConnectionListener connectionListener = (n, p, m, r) -> {};

    private Builder(Path socketPath, VirtioDevice device) {
      this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
      this.device = Objects.requireNonNull(device, "device");
    }

    /** Memory regions a front end may add with ADD_MEM_REG (GET_MAX_MEM_SLOTS); default 32. */
    public Builder maxMemSlots(int value) {
      if (value < 8 || value > 512) {
        throw new IllegalArgumentException("max memory slots " + value + " (expected 8..512)");
      }
      this.maxMemSlots = value;
      return this;
    }

    /**
     * Offer CONFIGURE_MEM_SLOTS (ADD/REM_MEM_REG); default true. Without it QEMU sends the whole
     * table with SET_MEM_TABLE.
     */
    public Builder configureMemSlots(boolean value) {
      this.configureMemSlots = value;
      return this;
    }

    /** Offer the STATUS protocol feature (an explicit DRIVER_OK start signal); default true. */
    public Builder status(boolean value) {
      this.status = value;
      return this;
    }

    /**
     * Without STATUS, how long the front end must be quiet after the last ring became ready before
     * the device starts (default 50 ms). A guest kick never waits for it in practice: QEMU sends
     * the whole start sequence before it lets the guest run on.
     */
    public Builder activationDelayMillis(int value) {
      if (value < 1 || value > 10_000) {
        throw new IllegalArgumentException("activation delay " + value + " ms (expected 1..10000)");
      }
      this.activationDelayMillis = value;
      return this;
    }

    /** Called on the server thread after each connection ends (statistics, tests). */
    public Builder connectionListener(ConnectionListener value) {
      this.connectionListener = Objects.requireNonNull(value, "connectionListener");
      return this;
    }

    /** Binds the socket (see {@link VhostUserServer#bind}) and starts serving. */
    public VhostUserServer start() throws IOException {
      VhostUserServer s = new VhostUserServer(this);
      s.thread.start();
      return s;
    }
  }

  /**
   * Listens at {@code path}. A stale socket file (nobody accepts on it) is replaced; a live one, or
   * anything that is not a socket, is refused with a one-line reason.
   */
  static UnixSocket bind(Path path) throws IOException {
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      BasicFileAttributes a =
          Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!a.isOther()) {
        throw new IOException(path + " exists and is not a socket; refusing to replace it");
      }
      try (UnixSocket probe = UnixSocket.connect(path)) {
        throw new IOException("socket path " + path + " is in use by a live server");
      } catch (NativeException e) {
        if (e.errno() != Errno.ECONNREFUSED) {
          throw new IOException("socket path " + path + " cannot be checked: " + e.getMessage(), e);
        }
        // Nobody listens: a leftover of a server that died. Take the path over.
        Files.delete(path);
      }
    }
    return UnixSocket.listen(path, 1);
  }

  public Path socketPath() {
    return socketPath;
  }

  public VirtioDevice device() {
    return device;
  }

  public VhostUserStats stats() {
    return stats;
  }

  private void acceptLoop() {
    PollSet poll = new PollSet(2);
    try {
      while (!closed) {
        poll.set(0, listener.fd(), PollSet.POLLIN);
        poll.set(1, stop.fd(), PollSet.POLLIN);
        if (poll.poll(2, -1) == 0) {
          continue;
        }
        if (poll.readable(1)) {
          return;
        }
        if (!poll.readable(0)) {
          continue;
        }
        UnixSocket conn = listener.accept();
        serveOne(conn);
      }
    } catch (NativeException | RuntimeException e) {
      if (!closed) {
        LOG.error("vhost-user server on {} stopped accepting: {}", socketPath, e.toString());
      }
    } finally {
      finished.countDown();
    }
  }

  private void serveOne(UnixSocket conn) {
    int n = connectionCounter.incrementAndGet();
    String name = "connection #" + n;
    String peer;
    try {
      UnixSocket.PeerCredentials c = conn.peerCredentials();
      peer = "pid " + c.pid() + " uid " + c.uid();
    } catch (NativeException e) {
      peer = "unknown peer";
    }
    stats.connections.increment();
    long started = System.nanoTime();
    LOG.info("{} on {} from {}: accepted", name, socketPath, peer);
    VhostUserConnection c = new VhostUserConnection("c" + n, conn, stop, device, options, stats);
    String reason = c.serve();
    long millis = (System.nanoTime() - started) / 1_000_000;
    String line =
        String.format(
            "%s from %s: closed after %d messages, %d ms: %s",
            name, peer, c.messages(), millis, reason);
    if (reason.startsWith("protocol error")) {
      LOG.warn(line);
    } else {
      LOG.info(line);
    }
    try {
      listenerHook.closed(n, peer, c.messages(), reason);
    } catch (RuntimeException e) {
      LOG.warn("connection listener failed", e);
    }
  }

  /** Waits until the server has stopped (after {@link #close}, or a fatal accept error). */
  public void awaitTermination() throws InterruptedException {
    finished.await();
  }

  /**
   * Stops accepting, closes the current connection (resetting the device, unmapping guest memory)
   * and removes the socket file. The device itself stays open: its owner closes it.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      stop.signal();
    } catch (NativeException e) {
      LOG.warn("cannot signal the vhost-user server to stop: {}", e.getMessage());
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    listener.close();
    stop.close();
    try {
      Files.deleteIfExists(socketPath);
    } catch (IOException e) {
      LOG.warn("cannot remove socket {}: {}", socketPath, e.getMessage());
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
