package dev.vdisk.remote.nbd;

import java.time.Duration;
import java.util.Objects;

/**
 * How {@link NbdServer} exports its disk.
 *
 * @param exportName the export's name; clients asking for "" get it too (qemu-img and nbdcopy ask
 *     for "" when the URI names no export)
 * @param description shown by {@code nbdinfo}; may be empty
 * @param readOnly export read-only even when the disk is writable
 * @param maxClients connections served at once; more are closed right after accept
 * @param handshakeTimeout a client that has not finished negotiating by then is dropped
 * @param workersPerClient requests of one client executed in parallel
 */
public record NbdServerOptions(
    String exportName,
    String description,
    boolean readOnly,
    int maxClients,
    Duration handshakeTimeout,
    int workersPerClient) {

  public static final NbdServerOptions DEFAULTS =
      new NbdServerOptions("", "", false, 16, Duration.ofSeconds(30), 4);

  public NbdServerOptions {
    Objects.requireNonNull(exportName, "exportName");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
    if (exportName.length() > NbdProtocol.MAX_STRING
        || description.length() > NbdProtocol.MAX_STRING) {
      throw new IllegalArgumentException("export name or description longer than 4096 characters");
    }
    if (maxClients < 1 || maxClients > 1024) {
      throw new IllegalArgumentException("maxClients " + maxClients + " (expected 1..1024)");
    }
    if (workersPerClient < 1 || workersPerClient > 64) {
      throw new IllegalArgumentException(
          "workersPerClient " + workersPerClient + " (expected 1..64)");
    }
  }

  public NbdServerOptions withExportName(String name) {
    return new NbdServerOptions(
        name, description, readOnly, maxClients, handshakeTimeout, workersPerClient);
  }

  public NbdServerOptions withReadOnly(boolean ro) {
    return new NbdServerOptions(
        exportName, description, ro, maxClients, handshakeTimeout, workersPerClient);
  }

  public NbdServerOptions withDescription(String d) {
    return new NbdServerOptions(
        exportName, d, readOnly, maxClients, handshakeTimeout, workersPerClient);
  }

  public NbdServerOptions withHandshakeTimeout(Duration t) {
    return new NbdServerOptions(exportName, description, readOnly, maxClients, t, workersPerClient);
  }
}
