package dev.vdisk.remote.testing;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace joined to the root namespace by a veth pair, with no IP addresses on either
 * end (IPv6 address generation is switched off): the test's JVM uses the root end, a peer runs in
 * the namespace. Needs root; when the namespace cannot be made the test fails with the reason.
 */
public final class VethNamespace implements AutoCloseable {
  private final String ns;
  private final String rootEnd;
  private final String nsEnd;

  private VethNamespace(String ns, String rootEnd, String nsEnd) {
    this.ns = ns;
    this.rootEnd = rootEnd;
    this.nsEnd = nsEnd;
  }

  public static VethNamespace create(int mtu) throws IOException, InterruptedException {
    String ip = Peer.requireTool("ip", "iproute2");
    String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20, 1 << 24));
    String ns = "vdaoe-" + id;
    VethNamespace v = new VethNamespace(ns, "vda" + id, "vdb" + id);
    String err = run(ip, "netns", "add", ns);
    if (err != null) {
      fail("cannot make a network namespace (needs root and CONFIG_NET_NS): " + err);
    }
    try {
      must(ip, "link", "add", v.rootEnd, "type", "veth", "peer", "name", v.nsEnd);
      must(ip, "link", "set", v.nsEnd, "netns", ns);
      must(ip, "link", "set", v.rootEnd, "addrgenmode", "none");
      must(ip, "-n", ns, "link", "set", v.nsEnd, "addrgenmode", "none");
      must(ip, "link", "set", v.rootEnd, "mtu", Integer.toString(mtu));
      must(ip, "-n", ns, "link", "set", v.nsEnd, "mtu", Integer.toString(mtu));
      must(ip, "-n", ns, "link", "set", "lo", "up");
      must(ip, "link", "set", v.rootEnd, "up");
      must(ip, "-n", ns, "link", "set", v.nsEnd, "up");
    } catch (IOException | InterruptedException | AssertionError e) {
      v.close();
      throw e;
    }
    return v;
  }

  /** The interface in the root namespace (the JVM's end). */
  public String rootEnd() {
    return rootEnd;
  }

  /** The interface inside the namespace. */
  public String nsEnd() {
    return nsEnd;
  }

  /** A command line that runs {@code command} inside the namespace. */
  public List<String> exec(List<String> command) {
    List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    c.addAll(command);
    return c;
  }

  private static void must(String... cmd) throws IOException, InterruptedException {
    String err = run(cmd);
    if (err != null) {
      fail(String.join(" ", cmd) + " failed: " + err);
    }
  }

  /** Runs a command; returns null on success, else its output. */
  private static String run(String... cmd) throws IOException, InterruptedException {
    Path out = Files.createTempFile("vdisk-ip", ".out");
    try {
      Process p =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(Duration.ofSeconds(20).toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return "timed out";
      }
      return p.exitValue() == 0
          ? null
          : "exit " + p.exitValue() + ": " + Files.readString(out).trim();
    } finally {
      Files.deleteIfExists(out);
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run("ip", "link", "del", rootEnd); // Removes both ends.
    run("ip", "netns", "del", ns);
  }
}
