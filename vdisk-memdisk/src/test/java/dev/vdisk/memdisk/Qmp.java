package dev.vdisk.memdisk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/** A minimal QMP client over a unix socket: greeting, capabilities, commands, replies. */
final class Qmp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SocketChannel channel;
  private final BufferedReader in;
  private final OutputStream out;

  private Qmp(SocketChannel channel) throws IOException {
    this.channel = channel;
    this.in =
        new BufferedReader(
            new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    this.out = Channels.newOutputStream(channel);
    JsonNode greeting = next();
    if (!greeting.has("QMP")) {
      throw new IOException("not a QMP greeting: " + greeting);
    }
    execute("qmp_capabilities", null);
  }

  /** Connects to QEMU's QMP socket, waiting for QEMU to create it. */
  static Qmp connect(Path socket, Duration timeout, Process qemu)
      throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    IOException last = null;
    while (Instant.now().isBefore(deadline)) {
      if (!qemu.isAlive()) {
        throw new IOException("QEMU exited with status " + qemu.exitValue() + " before QMP was up");
      }
      if (Files.exists(socket)) {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
          ch.connect(UnixDomainSocketAddress.of(socket));
          return new Qmp(ch);
        } catch (IOException e) {
          ch.close();
          last = e;
        }
      }
      Thread.sleep(50);
    }
    throw new IOException("QMP socket " + socket + " not ready within " + timeout, last);
  }

  private JsonNode next() throws IOException {
    String line = in.readLine();
    if (line == null) {
      throw new IOException("QMP connection closed");
    }
    return JSON.readTree(line);
  }

  /** Runs a command and returns its "return" value; events in between are skipped. */
  JsonNode execute(String command, ObjectNode arguments) throws IOException {
    ObjectNode msg = JSON.createObjectNode().put("execute", command);
    if (arguments != null) {
      msg.set("arguments", arguments);
    }
    out.write((msg + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    while (true) {
      JsonNode reply = next();
      if (reply.has("return")) {
        return reply.get("return");
      }
      if (reply.has("error")) {
        throw new IOException("QMP " + command + " failed: " + reply.get("error"));
      }
    }
  }

  /** {@code pmemsave}: writes guest physical [address, address+size) to {@code file}. */
  void pmemsave(long address, long size, Path file) throws IOException {
    execute(
        "pmemsave",
        JSON.createObjectNode()
            .put("val", address)
            .put("size", size)
            .put("filename", file.toString()));
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
