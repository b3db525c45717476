package dev.vdisk.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vdisk.qemu.natives.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaches a {@link ProxiedFunction} to a running QEMU as an {@code x-pci-proxy-dev} and serves it
 * until QEMU exits. Over QMP: {@code qmp_capabilities}, {@code getfd} carrying QEMU's end of a
 * fresh socketpair, {@code device_add}, then {@code cont} when the VM is paused. The proxy realizes
 * synchronously inside {@code device_add} and blocks on its first requests (SYNC_SYSMEM, SET_IRQFD,
 * config reads, BAR sizing), so the server must already be running on our end before {@code
 * device_add} is sent.
 */
public final class QemuAttachment {
  private static final Logger LOG = LoggerFactory.getLogger(QemuAttachment.class);

  /** Default bound on every QMP reply, {@code device_add} included. */
  public static final Duration DEFAULT_QMP_TIMEOUT = Duration.ofSeconds(30);

  private final String qmpPath;
  private final String id;
  private final Duration timeout;
  private Consumer<String> status = s -> {};
  private boolean resume = true;
  private String bus;

  public QemuAttachment(String qmpPath, String id, Duration timeout) {
    this.qmpPath = Objects.requireNonNull(qmpPath, "qmpPath");
    this.id = checkId(id);
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /** Where one-line progress messages go (the CLI prints them on stderr). */
  public QemuAttachment onStatus(Consumer<String> sink) {
    this.status = Objects.requireNonNull(sink, "sink");
    return this;
  }

  /**
   * Whether to {@code cont} a paused VM once the device is added (default true). False lets a
   * caller attach several devices before the guest starts, resuming with the last one.
   */
  public QemuAttachment resumeVm(boolean value) {
    this.resume = value;
    return this;
  }

  /**
   * The bus (a root port or bridge id) to add the device on. Unset: QEMU's default bus, and when
   * that bus cannot take a hotplugged device (q35's {@code pcie.0}) the first empty root port or
   * bridge that has an id.
   */
  public QemuAttachment bus(String value) {
    this.bus = value;
    return this;
  }

  private static String checkId(String id) {
    Objects.requireNonNull(id, "id");
    // QEMU ids: a letter, then letters, digits, '-', '.', '_' (id_wellformed()).
    if (!id.matches("[A-Za-z][A-Za-z0-9._-]{0,63}")) {
      throw new IllegalArgumentException(
          "device id '"
              + id
              + "' (expected a letter, then up to 63 letters, digits, '-', '.', '_')");
    }
    return id;
  }

  /**
   * Attaches the function {@code factory} builds (given the INTx line it must raise) and serves it
   * until QEMU closes the connection. Returns normally when QEMU exits; throws with a one-line
   * reason when QEMU cannot be reached or refuses the device.
   */
  public void run(Function<IntxLine, ProxiedFunction> factory) throws IOException {
    int[] pair = Posix.socketPair();
    int ours = pair[0];
    int theirs = pair[1];
    MpqemuServer server = null;
    Thread thread = null;
    AtomicReference<Throwable> failure = new AtomicReference<>();
    String fdName = "vdisk-" + id;
    try (QmpClient qmp = QmpClient.connect(qmpPath, timeout)) {
      qmp.capabilities();
      JsonVersion v = JsonVersion.of(qmp);
      if (!v.is72()) {
        LOG.warn(
            "QEMU {} is not 7.2: its multi-process protocol is private and unversioned, and "
                + "vdisk follows 7.2's; the attachment may fail",
            v);
      }
      IntxEventFds intx = MpqemuServer.newIntxLine();
      ProxiedFunction function = factory.apply(intx);
      server = new MpqemuServer(ours, function, intx);
      ours = -1;
      MpqemuServer s = server;
      thread =
          new Thread(
              () -> {
                try {
                  s.serve();
                } catch (IOException | RuntimeException e) {
                  failure.set(e);
                }
              },
              "vdisk-qemu-" + id);
      thread.setDaemon(true);
      thread.start();
      qmp.getfd(fdName, theirs);
      String placed = addDevice(qmp, fdName, theirs);
      Posix.closeQuietly(theirs);
      theirs = -1;
      if (resume && !qmp.running()) {
        qmp.cont();
      }
      status.accept(
          "attached "
              + id
              + (placed == null ? "" : " on bus " + placed)
              + " to QEMU "
              + v
              + " via "
              + qmpPath
              + "; serving until QEMU exits");
    } catch (IOException | RuntimeException e) {
      if (server != null) {
        server.stop();
      }
      join(thread);
      if (server != null) {
        server.close();
      }
      Posix.closeQuietly(ours);
      Posix.closeQuietly(theirs);
      throw e;
    }
    join(thread);
    server.close();
    Throwable t = failure.get();
    if (t instanceof IOException io) {
      throw new IOException("serving QEMU's proxy failed: " + io.getMessage(), io);
    }
    if (t instanceof RuntimeException re) {
      throw re;
    }
    status.accept(
        "QEMU closed the connection; served "
            + server.requests()
            + " requests, "
            + server.protocolErrors()
            + " refused");
  }

  /** device_add, falling back to a free root port or bridge; returns the bus used (or null). */
  private String addDevice(QmpClient qmp, String fdName, int fd) throws IOException {
    try {
      qmp.addProxyDevice(id, fdName, bus);
      return bus;
    } catch (QmpException e) {
      closeFdQuietly(qmp, fdName);
      if (bus != null || !e.getMessage().contains("does not support hotplugging")) {
        throw e;
      }
      String free = freeBridge(qmp.execute("query-pci", null));
      if (free == null) {
        throw new QmpException(
            "device_add",
            e.errorClass(),
            e.getMessage().substring("QEMU refused device_add: ".length())
                + " and QEMU has no empty root port or bridge with an id (on q35 add "
                + "-device pcie-root-port,id=vdisk-port,chassis=1)");
      }
      // QEMU checks the bus before it takes the fd, but hand it over again rather than rely on it.
      qmp.getfd(fdName, fd);
      try {
        qmp.addProxyDevice(id, fdName, free);
      } catch (IOException again) {
        closeFdQuietly(qmp, fdName);
        throw again;
      }
      return free;
    }
  }

  private static void closeFdQuietly(QmpClient qmp, String fdName) {
    try {
      qmp.closefd(fdName);
    } catch (IOException ignored) {
      // device_add consumed the fd already: nothing left in QEMU to clean up.
    }
  }

  /** The id of the first root port or PCI bridge in {@code query-pci} with nothing behind it. */
  static String freeBridge(JsonNode buses) {
    for (JsonNode bus : buses) {
      String found = freeBridgeIn(bus.path("devices"));
      if (found != null) {
        return found;
      }
    }
    return null;
  }

  private static String freeBridgeIn(JsonNode devices) {
    for (JsonNode d : devices) {
      JsonNode bridge = d.get("pci_bridge");
      if (bridge == null) {
        continue;
      }
      JsonNode behind = bridge.path("devices");
      String qdevId = d.path("qdev_id").asText("");
      if (behind.isEmpty() && !qdevId.isEmpty()) {
        return qdevId;
      }
      String nested = freeBridgeIn(behind);
      if (nested != null) {
        return nested;
      }
    }
    return null;
  }

  private static void join(Thread thread) throws InterruptedIOException {
    if (thread == null) {
      return;
    }
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while serving QEMU's proxy");
    }
  }

  /** QEMU's version from the QMP greeting. */
  private record JsonVersion(int major, int minor, int micro) {
    static JsonVersion of(QmpClient qmp) {
      var q = qmp.qemuVersion();
      return new JsonVersion(
          q.path("major").asInt(), q.path("minor").asInt(), q.path("micro").asInt());
    }

    boolean is72() {
      return major == 7 && minor == 2;
    }

    @Override
    public String toString() {
      return major + "." + minor + "." + micro;
    }
  }
}
