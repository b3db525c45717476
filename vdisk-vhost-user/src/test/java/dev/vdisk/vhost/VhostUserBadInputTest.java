package dev.vdisk.vhost;

import static dev.vdisk.vhost.VhostUserRequest.*;
import static dev.vdisk.vhost.testing.VhostUserTestClient.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.vhost.natives.EventFd;
import dev.vdisk.vhost.natives.MemFd;
import dev.vdisk.vhost.natives.OwnedFd;
import dev.vdisk.vhost.testing.FdCensus;
import dev.vdisk.vhost.testing.RecordingDevice;
import dev.vdisk.vhost.testing.VhostUserTestClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every hostile input a front end can send: each case must end in one log line naming the problem
 * (checked through the connection listener, which gets the same text), a closed connection, a
 * server that accepts the next front end, and no descriptor or mapping left behind.
 * BAD_INPUT-vhost-user.md lists the cases.
 */
class VhostUserBadInputTest {
  static final long GPA = 0x10_0000;
  static final long UVA = 0x7f00_0000_0000L;
  static final long RAM = 1 << 20;
  static final long FEATURES = (1L << 32) | (1L << 30);
  static final long PF_ACK = 1 << 3;
  static final long PF_STATUS = 1 << 16;
  static final long PF_SLOTS = 1 << 15;

  static Path dir;
  static Path sock;
  static VhostUserServer server;
  static final List<String> reasons = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws IOException {
    dir = java.nio.file.Files.createTempDirectory("vdisk-bad-input");
    sock = dir.resolve("vu.sock");
    server =
        VhostUserServer.builder(sock, new RecordingDevice(2))
            .connectionListener((n, peer, messages, reason) -> reasons.add(reason))
            .start();
  }

  @AfterAll
  static void stop() throws IOException {
    server.close();
    java.nio.file.Files.deleteIfExists(dir);
  }

  /** What a case has at hand: a connected client and guest RAM in a memfd. */
  record Ctx(VhostUserTestClient c, OwnedFd ram, EventFd efd) {
    void handshake(long protocolFeatures) throws IOException {
      c.getU64(GET_FEATURES);
      c.send(SET_PROTOCOL_FEATURES, 0, u64(protocolFeatures));
    }

    void sendMemTable() throws IOException {
      c.send(SET_MEM_TABLE, 0, memTable(new Region(GPA, RAM, UVA, 0)), ram.fd());
    }

    /** A fully configured ring 0 with its desc table at user address {@code desc}. */
    void ring(long desc, int num) throws IOException {
      c.send(SET_FEATURES, 0, u64(FEATURES));
      c.send(SET_VRING_NUM, 0, state(0, num));
      c.send(SET_VRING_ADDR, 0, vringAddr(0, 0, desc, UVA + 0x2000, UVA + 0x1000));
      c.send(SET_VRING_KICK, 0, u64(0), efd.fd());
      c.send(SET_VRING_ENABLE, 0, state(0, 1));
    }
  }

  @FunctionalInterface
  interface Action {
    void run(Ctx ctx) throws Exception;
  }

  record Case(String name, Action action, String reason) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Case bad(String name, String reason, Action action) {
    return new Case(name, action, reason);
  }

  static Stream<Case> cases() {
    Region ram = new Region(GPA, RAM, UVA, 0);
    return Stream.of(
        // ---- header ----
        bad(
            "protocol version 2",
            "has protocol version 2",
            x -> x.c().sendRaw(message(GET_FEATURES, 2, 0, new byte[0]))),
        bad(
            "REPLY flag from the front end",
            "has flags 0x5",
            x -> x.c().sendRaw(message(GET_FEATURES, 5, 0, new byte[0]))),
        bad(
            "unknown flag bits",
            "has flags 0x101",
            x -> x.c().sendRaw(message(GET_FEATURES, 0x101, 0, new byte[0]))),
        bad(
            "oversized payload announced",
            "announces a payload of 1000000 bytes",
            x -> x.c().sendRaw(message(SET_FEATURES, 1, 1_000_000, new byte[8]))),
        bad(
            "negative payload size",
            "announces a payload of 4294967295 bytes",
            x -> x.c().sendRaw(message(SET_FEATURES, 1, -1, new byte[8]))),
        bad(
            "header cut short, then hang-up",
            "inside a message header (5 bytes)",
            x -> {
              x.c().sendRaw(new byte[] {1, 0, 0, 0, 1});
              x.c().close();
            }),
        bad(
            "payload cut short, then hang-up",
            "inside SET_FEATURES(2) (3 of 8 payload bytes)",
            x -> {
              x.c().sendRaw(message(SET_FEATURES, 1, 8, new byte[3]));
              x.c().close();
            }),
        bad(
            "payload never arrives",
            "payload incomplete: 0 of 8 bytes within 5000 ms",
            x -> x.c().sendRaw(message(SET_FEATURES, 1, 8, new byte[0]))),
        // ---- request codes ----
        bad("unknown request 99", "unknown request 99", x -> x.c().send(99, 0, new byte[0])),
        bad("request 0", "unknown request 0", x -> x.c().send(0, 0, new byte[0])),
        bad(
            "request 0xffffffff",
            "unknown request 4294967295",
            x -> x.c().send(-1, 0, new byte[0])),
        bad(
            "SET_LOG_BASE (not offered)",
            "SET_LOG_BASE(6) is not supported",
            x -> x.c().send(SET_LOG_BASE, 0, new byte[16], x.efd().fd())),
        bad(
            "IOTLB_MSG (not offered)",
            "IOTLB_MSG(22) is not supported",
            x -> x.c().send(IOTLB_MSG, 0, new byte[0])),
        bad(
            "GET_INFLIGHT_FD (not offered)",
            "GET_INFLIGHT_FD(31) is not supported",
            x -> x.c().send(GET_INFLIGHT_FD, 0, new byte[24])),
        bad(
            "ADD_MEM_REG without CONFIGURE_MEM_SLOTS",
            "without negotiating protocol feature 15",
            x -> x.c().send(ADD_MEM_REG, 0, singleRegion(ram), x.ram().fd())),
        bad(
            "SET_STATUS without STATUS",
            "without negotiating protocol feature 16",
            x -> x.c().send(SET_STATUS, 0, u64(4))),
        // ---- sizes and values ----
        bad(
            "SET_FEATURES with 4 bytes",
            "SET_FEATURES(2) payload of 4 bytes (expected: 8)",
            x -> x.c().send(SET_FEATURES, 0, new byte[4])),
        bad(
            "GET_FEATURES with a payload",
            "GET_FEATURES(1) payload of 8 bytes (expected: 0)",
            x -> x.c().send(GET_FEATURES, 0, new byte[8])),
        bad(
            "SET_FEATURES with bits never offered",
            "includes bits 0x8000000000000000",
            x -> x.c().send(SET_FEATURES, 0, u64(FEATURES | Long.MIN_VALUE))),
        bad(
            "SET_FEATURES without VERSION_1",
            "lacks VERSION_1",
            x -> x.c().send(SET_FEATURES, 0, u64(1L << 30))),
        bad(
            "SET_PROTOCOL_FEATURES with bits never offered",
            "includes bits 0x2",
            x -> x.c().send(SET_PROTOCOL_FEATURES, 0, u64(2))),
        bad(
            "GET_CONFIG beyond 256 bytes",
            "offset 0 size 300",
            x -> x.c().send(GET_CONFIG, 0, config(0, 300, 0, new byte[300]))),
        bad(
            "GET_CONFIG size disagreeing with payload",
            "payload of 16 bytes (expected: 20)",
            x -> x.c().send(GET_CONFIG, 0, config(0, 8, 0, new byte[4]))),
        bad(
            "vring index out of range",
            "for vring 5 (the device has 2 queues)",
            x -> x.c().send(SET_VRING_NUM, 0, state(5, 128))),
        bad(
            "vring size 0",
            "size 0 (expected: a power of two, 1..256)",
            x -> x.c().send(SET_VRING_NUM, 0, state(0, 0))),
        bad(
            "vring size not a power of two",
            "size 3 (expected",
            x -> x.c().send(SET_VRING_NUM, 0, state(0, 3))),
        bad(
            "vring size above the maximum",
            "size 512 (expected",
            x -> x.c().send(SET_VRING_NUM, 0, state(0, 512))),
        bad(
            "vring base above 65535",
            "index 70000 (expected: < 65536",
            x -> x.c().send(SET_VRING_BASE, 0, state(0, 70000))),
        bad(
            "SET_VRING_ENABLE 2",
            "with 2 (expected: 0 or 1)",
            x -> x.c().send(SET_VRING_ENABLE, 0, state(0, 2))),
        bad(
            "vring file reserved bits",
            "payload 0x10000 has reserved bits set",
            x -> x.c().send(SET_VRING_CALL, 0, u64(0x10000), x.efd().fd())),
        bad(
            "SET_VRING_ADDR with the log flag",
            "flags 0x1 (expected: 0",
            x -> {
              x.sendMemTable();
              x.c().send(SET_VRING_ADDR, 0, vringAddr(0, 1, UVA, UVA + 0x2000, UVA + 0x1000));
            }),
        // ---- descriptors ----
        bad(
            "kick without fd and without NOFD",
            "SET_VRING_KICK(12) carried 0 file descriptors" + " (expected: 1)",
            x -> x.c().send(SET_VRING_KICK, 0, u64(0))),
        bad(
            "kick with NOFD but an fd",
            "SET_VRING_KICK(12) carried 1 file descriptor" + " (expected: 0)",
            x -> x.c().send(SET_VRING_KICK, 0, u64(0x100), x.efd().fd())),
        bad(
            "kick in polling mode",
            "polling mode is not supported",
            x -> x.c().send(SET_VRING_KICK, 0, u64(0x100))),
        bad(
            "fd with SET_FEATURES",
            "SET_FEATURES(2) carried 1 file descriptor (expected: 0)",
            x -> x.c().send(SET_FEATURES, 0, u64(FEATURES), x.efd().fd())),
        bad(
            "more than 8 fds",
            "carried more than 8 file descriptors",
            x -> {
              int[] nine = new int[9];
              java.util.Arrays.fill(nine, x.ram().fd());
              x.c().send(SET_MEM_TABLE, 0, memTable(ram), nine);
            }),
        bad(
            "fd sent with the payload, not the header",
            "carried file descriptors after its first byte",
            x -> {
              x.c().sendRaw(message(SET_FEATURES, 1, 8, new byte[0]));
              x.c().sendRaw(u64(FEATURES), x.efd().fd());
            }),
        bad(
            "SET_MEM_TABLE missing an fd",
            "SET_MEM_TABLE(5) carried 1 file descriptor" + " (expected: 2)",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE,
                        0,
                        memTable(
                            new Region(GPA, RAM / 2, UVA, 0),
                            new Region(GPA + RAM / 2, RAM / 2, UVA + RAM / 2, RAM / 2)),
                        x.ram().fd())),
        bad(
            "ADD_MEM_REG without an fd",
            "ADD_MEM_REG(37) carried 0 file descriptors",
            x -> {
              x.handshake(PF_SLOTS);
              x.c().send(ADD_MEM_REG, 0, singleRegion(ram));
            }),
        bad(
            "SET_BACKEND_REQ_FD without an fd",
            "SET_BACKEND_REQ_FD(21) carried 0 file",
            x -> {
              x.handshake(1 << 5);
              x.c().send(SET_BACKEND_REQ_FD, 0, new byte[0]);
            }),
        // ---- memory table ----
        bad(
            "SET_MEM_TABLE with 0 regions",
            "with 0 regions (expected: 1..8)",
            x -> x.c().send(SET_MEM_TABLE, 0, memTable())),
        bad(
            "SET_MEM_TABLE with 9 regions",
            "with 9 regions (expected: 1..8)",
            x -> {
              Region[] nine = new Region[9];
              for (int i = 0; i < 9; i++) {
                nine[i] = new Region(GPA + i * 4096L, 4096, UVA + i * 4096L, i * 4096L);
              }
              x.c().send(SET_MEM_TABLE, 0, memTable(nine), x.ram().fd());
            }),
        bad(
            "overlapping guest-physical regions",
            "in guest-physical space",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE,
                        0,
                        memTable(
                            new Region(GPA, RAM / 2, UVA, 0),
                            new Region(GPA + 4096, RAM / 2, UVA + RAM, 0)),
                        x.ram().fd(),
                        x.ram().fd())),
        bad(
            "overlapping user-address regions",
            "in the front end's address space",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE,
                        0,
                        memTable(
                            new Region(GPA, RAM / 2, UVA, 0),
                            new Region(GPA + RAM, RAM / 2, UVA + 4096, 0)),
                        x.ram().fd(),
                        x.ram().fd())),
        bad(
            "zero-size region",
            "zero-size memory region",
            x -> x.c().send(SET_MEM_TABLE, 0, memTable(new Region(GPA, 0, UVA, 0)), x.ram().fd())),
        bad(
            "region wrapping past 2^64",
            "wraps past the end of guest-physical address space",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE, 0, memTable(new Region(-4096, 8192, UVA, 0)), x.ram().fd())),
        bad(
            "region past the end of its file",
            "ends past the end of its file (1048576 bytes)",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE, 0, memTable(new Region(GPA, RAM, UVA, 4096)), x.ram().fd())),
        bad(
            "region file offset overflowing",
            "offset + size overflows",
            x ->
                x.c()
                    .send(
                        SET_MEM_TABLE,
                        0,
                        memTable(new Region(GPA, RAM, UVA, Long.MAX_VALUE - 10)),
                        x.ram().fd())),
        bad(
            "region backed by an eventfd",
            "that is not a regular file",
            x -> x.c().send(SET_MEM_TABLE, 0, memTable(ram), x.efd().fd())),
        bad(
            "REM_MEM_REG of a region never added",
            "REM_MEM_REG of a region that is not mapped",
            x -> {
              x.handshake(PF_SLOTS);
              x.c().send(REM_MEM_REG, 0, singleRegion(ram));
            }),
        bad(
            "ADD_MEM_REG overlapping a mapped region",
            "overlaps",
            x -> {
              x.handshake(PF_SLOTS | PF_ACK);
              assertThat(x.c().sendAcked(ADD_MEM_REG, singleRegion(ram), x.ram().fd())).isZero();
              x.c()
                  .send(
                      ADD_MEM_REG,
                      0,
                      singleRegion(new Region(GPA + 4096, 4096, UVA + RAM, 0)),
                      x.ram().fd());
            }),
        // ---- vring addresses ----
        bad(
            "SET_VRING_ADDR before a memory table",
            "before any memory table",
            x -> x.c().send(SET_VRING_ADDR, 0, vringAddr(0, 0, UVA, UVA, UVA))),
        bad(
            "vring address outside every region",
            "descriptor table user address 0x1000 is in" + " no memory region",
            x -> {
              x.sendMemTable();
              x.c().send(SET_VRING_ADDR, 0, vringAddr(0, 0, 0x1000, UVA, UVA));
            }),
        bad(
            "vring running past the end of its region",
            "descriptor table gpa 0x1ffff0 + 4096"
                + " bytes (size 256) is not inside one memory region",
            x -> {
              x.handshake(PF_ACK | PF_STATUS);
              x.sendMemTable();
              x.ring(UVA + RAM - 16, 256);
              x.c().send(SET_STATUS, 0, u64(0xf));
            }),
        bad(
            "misaligned descriptor table",
            "descriptor table at gpa 0x100008 is not 16-byte" + " aligned",
            x -> {
              x.handshake(PF_ACK | PF_STATUS);
              x.sendMemTable();
              x.ring(UVA + 8, 16);
              x.c().send(SET_STATUS, 0, u64(0xf));
            }),
        bad(
            "SET_VRING_NUM on a running ring",
            "SET_VRING_NUM(8) for vring 0 while it runs",
            x -> {
              x.handshake(PF_ACK | PF_STATUS);
              x.sendMemTable();
              x.ring(UVA, 16);
              assertThat(x.c().sendAcked(SET_STATUS, u64(0xf))).isZero();
              x.c().send(SET_VRING_NUM, 0, state(0, 32));
            }));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void badInputClosesTheConnectionAndLeaksNothing(Case bad) throws Exception {
    // Warm up once so lazily created JVM/JNA state does not count as a leak.
    roundTrip();
    FdCensus before = FdCensus.take();
    int closedBefore = reasons.size();
    try (OwnedFd ram = MemFd.create("vdisk-test-guest-ram", RAM);
        EventFd efd = EventFd.create();
        VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      bad.action().run(new Ctx(c, ram, efd));
      assertThat(c.closedByPeer(10_000)).as("server closed the connection").isTrue();
    }
    awaitReasons(closedBefore + 1);
    assertThat(reasons.get(closedBefore)).startsWith("protocol error: ").contains(bad.reason());
    // The daemon serves the next front end.
    roundTrip();
    assertThat(FdCensus.take()).isEqualTo(before);
  }

  private static void roundTrip() throws IOException {
    int n = reasons.size();
    try (VhostUserTestClient c = VhostUserTestClient.connect(sock)) {
      assertThat(c.getU64(GET_QUEUE_NUM)).isEqualTo(2);
    }
    awaitReasons(n + 1);
  }

  private static void awaitReasons(int n) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (reasons.size() < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("connection not closed; reasons so far: " + reasons);
      }
      Thread.onSpinWait();
    }
  }
}
