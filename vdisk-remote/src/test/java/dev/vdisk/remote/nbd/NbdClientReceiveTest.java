package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.AsyncBlockDevice;
import dev.vdisk.remote.testing.Buffers;
import dev.vdisk.remote.testing.CompletionLatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader's buffered receive path: replies arriving back to back in one write (small ones taken
 * from the receive buffer, a large one partly from the buffer and partly read directly), split at
 * awkward places, and requests that completions submit on the reader thread (batched, then sent
 * before the reader waits).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NbdClientReceiveTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final long SIZE = 8 << 20;
  private static final int BIG = 1 << 20;

  @TempDir Path dir;

  /** The byte the fake server stores at {@code offset}: differs for every byte of a 4 KiB block. */
  private static byte expected(long offset) {
    return (byte) (offset * 31 + (offset >>> 12) * 7);
  }

  private static void putSimpleReply(ByteBuffer b, FakeNbdServer.Request r) {
    b.putInt(SIMPLE_REPLY_MAGIC).putInt(0).putLong(r.handle());
    for (int i = 0; i < r.length(); i++) {
      b.put(expected(r.offset() + i));
    }
  }

  private static void putDataChunk(ByteBuffer b, FakeNbdServer.Request r, int from, int n) {
    boolean last = from + n == r.length();
    b.putInt(STRUCTURED_REPLY_MAGIC)
        .putShort((short) (last ? REPLY_FLAG_DONE : 0))
        .putShort((short) REPLY_TYPE_OFFSET_DATA);
    b.putLong(r.handle()).putInt(8 + n).putLong(r.offset() + from);
    for (int i = 0; i < n; i++) {
      b.put(expected(r.offset() + from + i));
    }
  }

  /** Writes {@code b} in pieces whose sizes cycle through {@code cuts}, to split headers too. */
  private static void writeInPieces(FakeNbdServer.Conn c, ByteBuffer b, int... cuts)
      throws IOException {
    b.flip();
    int i = 0;
    while (b.hasRemaining()) {
      int n = Math.min(b.remaining(), cuts[i++ % cuts.length]);
      ByteBuffer piece = b.slice(b.position(), n);
      while (piece.hasRemaining()) {
        c.ch.write(piece);
      }
      b.position(b.position() + n);
      java.util.concurrent.locks.LockSupport.parkNanos(200_000); // let the client read between
    }
  }

  private static void check(BytesStore<?, Void> store, long storeOffset, long diskOffset, int n) {
    for (int i = 0; i < n; i++) {
      byte got = store.readByte(storeOffset + i);
      if (got != expected(diskOffset + i)) {
        throw new AssertionError(
            "byte " + (diskOffset + i) + ": got " + got + ", expected " + expected(diskOffset + i));
      }
    }
  }

  @Test
  void repliesArrivingTogetherOrSplitAnywhereLandWhereTheyBelong() throws Exception {
    for (boolean structured : new boolean[] {false, true}) {
      // 16 small reads, one 1 MiB read, 16 more small reads: answered in one stream, in reverse
      // order, cut into pieces of 7, 3 and 70000 bytes so headers straddle reads.
      int small = 32;
      try (FakeNbdServer s =
              new FakeNbdServer(
                  dir.resolve("r" + structured + ".sock"),
                  structured,
                  SIZE,
                  (c, n) -> {
                    List<FakeNbdServer.Request> got = new ArrayList<>();
                    for (int i = 0; i < small + 1; i++) {
                      got.add(c.request());
                    }
                    ByteBuffer out = ByteBuffer.allocate(2 * BIG);
                    for (int i = got.size() - 1; i >= 0; i--) {
                      FakeNbdServer.Request r = got.get(i);
                      if (!structured) {
                        putSimpleReply(out, r);
                      } else if (r.length() == BIG) {
                        putDataChunk(out, r, 0, 5000);
                        putDataChunk(out, r, 5000, BIG - 5000);
                      } else {
                        putDataChunk(out, r, 0, r.length());
                      }
                    }
                    writeInPieces(c, out, 7, 3, 70000);
                    c.request();
                  });
          NbdClient client = NbdClient.open(s.target(), TIMEOUT, true)) {
        BytesStore<?, Void> mem = Buffers.zeroed(small * 4096 + BIG);
        try {
          CompletionLatch c = new CompletionLatch(small + 1);
          for (int i = 0; i < small; i++) {
            int at = i < small / 2 ? i : i + 1; // the big read sits in the middle
            client.submit(AsyncBlockDevice.OP_READ, at * 8192L, mem, i * 4096L, 4096, i, c);
            if (i == small / 2 - 1) {
              client.submit(AsyncBlockDevice.OP_READ, 3L << 20, mem, small * 4096L, BIG, small, c);
            }
          }
          c.assertAllSucceededWithin(20);
          for (int i = 0; i < small; i++) {
            int at = i < small / 2 ? i : i + 1;
            check(mem, i * 4096L, at * 8192L, 4096);
          }
          check(mem, small * 4096L, 3L << 20, BIG);
        } finally {
          mem.releaseLast();
        }
      }
    }
  }

  @Test
  void readsSubmittedFromCompletionsReachTheServer() throws Exception {
    int depth = 8;
    int total = 2000;
    try (FakeNbdServer s =
            new FakeNbdServer(
                dir.resolve("chain.sock"),
                false,
                SIZE,
                (c, n) -> {
                  // Answer each request as it comes, several replies per write when the client
                  // batched its requests.
                  for (int answered = 0; answered < total; ) {
                    FakeNbdServer.Request r = c.request();
                    ByteBuffer out = ByteBuffer.allocate(16 + r.length());
                    putSimpleReply(out, r);
                    c.write(out);
                    answered++;
                  }
                  c.request();
                });
        NbdClient client = NbdClient.open(s.target(), TIMEOUT, true)) {
      BytesStore<?, Void> mem = Buffers.zeroed(depth * 4096);
      try {
        CountDownLatch done = new CountDownLatch(depth);
        AtomicReference<Throwable> error = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger submitted =
            new java.util.concurrent.atomic.AtomicInteger(depth);
        AsyncBlockDevice.Completion[] self = new AsyncBlockDevice.Completion[1];
        long[] lastOffset = new long[depth];
        self[0] =
            (token, e) -> {
              int slot = (int) token;
              if (e != null) {
                error.compareAndSet(null, e);
                done.countDown();
                return;
              }
              try {
                check(mem, slot * 4096L, lastOffset[slot], 4096);
              } catch (AssertionError a) {
                error.compareAndSet(null, a);
              }
              int k = submitted.getAndIncrement();
              if (k < total) {
                lastOffset[slot] = (k * 4096L * 13) % SIZE;
                client.submit(
                    AsyncBlockDevice.OP_READ,
                    lastOffset[slot],
                    mem,
                    slot * 4096L,
                    4096,
                    slot,
                    self[0]);
              } else {
                done.countDown();
              }
            };
        for (int i = 0; i < depth; i++) {
          lastOffset[i] = (i * 4096L * 13) % SIZE;
          client.submit(AsyncBlockDevice.OP_READ, lastOffset[i], mem, i * 4096L, 4096, i, self[0]);
        }
        assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(error.get()).isNull();
        assertThat(s.connections.get()).isEqualTo(1);
      } finally {
        mem.releaseLast();
      }
    }
  }
}
