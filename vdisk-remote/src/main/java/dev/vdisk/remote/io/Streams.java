package dev.vdisk.remote.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** Whole-buffer reads and writes on blocking channels. */
public final class Streams {
  private Streams() {}

  /**
   * Fills {@code buf} from its position to its limit; EOF before that is an {@link EOFException}
   * naming {@code what} and how much was missing.
   */
  public static void readFully(ReadableByteChannel ch, ByteBuffer buf, String what)
      throws IOException {
    while (buf.hasRemaining()) {
      if (ch.read(buf) < 0) {
        throw new EOFException(
            "connection closed with " + buf.remaining() + " bytes of " + what + " still to come");
      }
    }
  }

  public static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /**
   * Writes {@code first} then {@code second} whole, in as few system calls as the channel allows.
   */
  public static void writeFully(
      GatheringByteChannel ch, ByteBuffer[] pair, ByteBuffer first, ByteBuffer second)
      throws IOException {
    pair[0] = first;
    pair[1] = second;
    try {
      while (first.hasRemaining() || second.hasRemaining()) {
        ch.write(pair);
      }
    } finally {
      pair[0] = null;
      pair[1] = null;
    }
  }

  /** Reads and drops {@code n} bytes through {@code scratch} (bounded by the caller's n). */
  public static void skip(ReadableByteChannel ch, long n, ByteBuffer scratch, String what)
      throws IOException {
    while (n > 0) {
      scratch.clear();
      scratch.limit((int) Math.min(scratch.capacity(), n));
      readFully(ch, scratch, what);
      n -= scratch.limit();
    }
  }
}
