package dev.vdisk.qemu;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.jna.Memory;
import dev.vdisk.qemu.natives.Posix;
import dev.vdisk.qemu.natives.UnixMsgSocket;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A minimal QMP client on QEMU's Unix socket, enough to attach a proxied device: the greeting,
 * {@code qmp_capabilities}, {@code getfd} (the fd rides as SCM_RIGHTS on the same sendmsg as the
 * command, which is how QEMU's monitor picks it up), {@code device_add}, {@code query-status} and
 * {@code cont}. Asynchronous {@code {"event": ...}} lines are skipped while waiting for a reply.
 * Every wait is bounded by the timeout; a reply line longer than {@link #MAX_LINE} is refused.
 */
public final class QmpClient implements AutoCloseable {
  static final int MAX_LINE = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String path;
  private final UnixMsgSocket socket;
  private final int timeoutMillis;
  private final Memory readBuffer = new Memory(4096);
  private final Memory pollScratch = new Memory(8);
  private final int[] pollFd = new int[1];
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private final JsonNode greeting;

  private QmpClient(String path, int fd, Duration timeout) throws IOException {
    this.path = path;
    this.socket = new UnixMsgSocket(fd);
    this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    JsonNode first = readMessage("the QMP greeting");
    if (!first.has("QMP")) {
      throw new IOException(
          path + " is not a QMP socket (first line: " + abbreviate(first.toString()) + ")");
    }
    this.greeting = first;
  }

  /** Connects to QEMU's QMP socket at {@code path} and reads its greeting. */
  public static QmpClient connect(String path, Duration timeout) throws IOException {
    int fd;
    try {
      fd = Posix.connectUnix(path);
    } catch (IOException e) {
      throw new IOException("cannot reach QEMU's QMP socket " + path + ": " + e.getMessage(), e);
    }
    try {
      return new QmpClient(path, fd, timeout);
    } catch (IOException | RuntimeException e) {
      Posix.closeQuietly(fd);
      throw e;
    }
  }

  /** The greeting's {@code QMP.version.qemu} object, e.g. {"micro":0,"minor":2,"major":7}. */
  public JsonNode qemuVersion() {
    return greeting.path("QMP").path("version").path("qemu");
  }

  /** Leaves capabilities negotiation mode; required before any other command. */
  public void capabilities() throws IOException {
    execute("qmp_capabilities", null);
  }

  /** Hands {@code fd} to QEMU under {@code name} (QMP {@code getfd}); QEMU gets its own copy. */
  public void getfd(String name, int fd) throws IOException {
    ObjectNode args = JSON.createObjectNode().put("fdname", name);
    execute("getfd", args, fd);
  }

  /** Best-effort {@code closefd}: drops a named fd QEMU still holds (after a failed attach). */
  public void closefd(String name) throws IOException {
    execute("closefd", JSON.createObjectNode().put("fdname", name));
  }

  /**
   * Adds a QEMU multi-process proxy device talking over the fd named {@code fdName}, on {@code bus}
   * (a bridge or root port id) or, when null, wherever QEMU puts it.
   */
  public void addProxyDevice(String id, String fdName, String bus) throws IOException {
    ObjectNode args =
        JSON.createObjectNode().put("driver", "x-pci-proxy-dev").put("id", id).put("fd", fdName);
    if (bus != null) {
      args.put("bus", bus);
    }
    execute("device_add", args);
  }

  /** True when the VM is running (QMP {@code query-status}). */
  public boolean running() throws IOException {
    JsonNode status = execute("query-status", null);
    JsonNode running = status.get("running");
    if (running == null || !running.isBoolean()) {
      throw new IOException(
          "query-status answered without 'running': " + abbreviate(status.toString()));
    }
    return running.booleanValue();
  }

  /** Resumes a paused VM. */
  public void cont() throws IOException {
    execute("cont", null);
  }

  /**
   * Runs {@code command} and returns its {@code return} value; QEMU's error becomes a {@link
   * QmpException}.
   */
  public JsonNode execute(String command, ObjectNode arguments) throws IOException {
    return execute(command, arguments, -1);
  }

  private JsonNode execute(String command, ObjectNode arguments, int fd) throws IOException {
    ObjectNode request = JSON.createObjectNode().put("execute", command);
    if (arguments != null) {
      request.set("arguments", arguments);
    }
    byte[] line = (request + "\n").getBytes(StandardCharsets.UTF_8);
    try (Memory out = new Memory(line.length)) {
      out.write(0, line, 0, line.length);
      if (fd >= 0) {
        pollFd[0] = fd;
        socket.send(out, line.length, pollFd, 1);
      } else {
        socket.send(out, line.length, null, 0);
      }
    }
    while (true) {
      JsonNode reply = readMessage("the reply to " + command);
      if (reply.has("event")) {
        continue;
      }
      if (reply.has("return")) {
        return reply.get("return");
      }
      if (reply.has("error")) {
        JsonNode error = reply.get("error");
        throw new QmpException(
            command, error.path("class").asText("?"), error.path("desc").asText(error.toString()));
      }
      throw new IOException(
          "unexpected QMP message while waiting for the reply to "
              + command
              + ": "
              + abbreviate(reply.toString()));
    }
  }

  private JsonNode readMessage(String what) throws IOException {
    String line = readLine(what);
    try {
      JsonNode node = JSON.readTree(line);
      if (node == null || !node.isObject()) {
        throw new IOException(
            "QMP sent a non-object while waiting for " + what + ": " + abbreviate(line));
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new IOException(
          "QMP sent malformed JSON while waiting for " + what + ": " + abbreviate(line), e);
    }
  }

  private String readLine(String what) throws IOException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (true) {
      byte[] buffered = pending.toByteArray();
      int newline = indexOf(buffered, (byte) '\n');
      if (newline >= 0) {
        pending.reset();
        pending.write(buffered, newline + 1, buffered.length - newline - 1);
        String line = new String(buffered, 0, newline, StandardCharsets.UTF_8).trim();
        if (!line.isEmpty()) {
          return line;
        }
        continue;
      }
      if (buffered.length > MAX_LINE) {
        throw new IOException(
            "QMP line longer than " + MAX_LINE + " bytes while waiting for " + what);
      }
      long left = (deadline - System.nanoTime()) / 1_000_000L;
      if (left <= 0) {
        throw new IOException(
            "QEMU did not answer on "
                + path
                + " within "
                + timeoutMillis
                + " ms (waiting for "
                + what
                + ")");
      }
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted while waiting for " + what);
      }
      pollFd[0] = socket.fd();
      if (Posix.pollReadable(pollScratch, pollFd, 1, (int) Math.min(left, 1000)) < 0) {
        continue;
      }
      int n = Posix.read(socket.fd(), readBuffer, (int) readBuffer.size());
      if (n == 0) {
        throw new EOFException("QEMU closed the QMP connection while we waited for " + what);
      }
      pending.write(readBuffer.getByteArray(0, n), 0, n);
    }
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }

  @Override
  public void close() {
    socket.close();
  }
}
