package dev.vdisk.remote.nbd;

import static dev.vdisk.remote.nbd.NbdProtocol.*;

import dev.vdisk.remote.io.Streams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The client side of the fixed-newstyle handshake: STRUCTURED_REPLY and SET_META_CONTEXT
 * (base:allocation) when wanted, then GO with a BLOCK_SIZE info request (EXPORT_NAME only for
 * servers that do not know GO). Every length the server sends is bounded before anything is read.
 */
public final class NbdClientHandshake {
  /** Largest option reply payload accepted (names and descriptions are at most 4 KiB). */
  static final int MAX_OPTION_REPLY = 64 * 1024;

  /** Replies accepted for one option before the server is considered broken. */
  static final int MAX_REPLIES_PER_OPTION = 256;

  private static final long OLDSTYLE_MAGIC = 0x00420281861253L;

  private final SocketChannel ch;
  private final ByteBuffer header = ByteBuffer.allocate(OPTION_REPLY_HEADER_SIZE);

  private NbdClientHandshake(SocketChannel ch) {
    this.ch = ch;
  }

  /** Runs the whole handshake; the channel is in transmission phase on return. */
  public static NbdExportInfo negotiate(SocketChannel ch, String exportName, boolean structured)
      throws IOException {
    return new NbdClientHandshake(ch).run(exportName, structured);
  }

  /** Lists the server's exports (LIST), then aborts. */
  public static List<String> list(SocketChannel ch) throws IOException {
    NbdClientHandshake h = new NbdClientHandshake(ch);
    h.greet();
    h.sendOption(OPT_LIST, ByteBuffer.allocate(0));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < MAX_REPLIES_PER_OPTION; i++) {
      Reply r = h.readReply(OPT_LIST);
      if (r.type == REP_ACK) {
        h.sendOption(OPT_ABORT, ByteBuffer.allocate(0));
        return names;
      }
      if (r.type != REP_SERVER) {
        throw refused("LIST", r);
      }
      if (r.data.remaining() < 4) {
        throw new NbdProtocolException("LIST reply of " + r.data.remaining() + " bytes (< 4)");
      }
      long len = Integer.toUnsignedLong(r.data.getInt());
      if (len > r.data.remaining()) {
        throw new NbdProtocolException(
            "LIST name length " + len + " exceeds its reply (" + r.data.remaining() + " bytes)");
      }
      byte[] b = new byte[(int) len];
      r.data.get(b);
      names.add(new String(b, StandardCharsets.UTF_8));
    }
    throw new NbdProtocolException("LIST sent more than " + MAX_REPLIES_PER_OPTION + " replies");
  }

  private int greet() throws IOException {
    ByteBuffer hello = ByteBuffer.allocate(18);
    Streams.readFully(ch, hello, "server greeting");
    hello.flip();
    long magic = hello.getLong();
    if (magic != NBDMAGIC) {
      throw new NbdProtocolException(
          "bad greeting magic 0x" + Long.toHexString(magic) + " (expected NBDMAGIC)");
    }
    long second = hello.getLong();
    if (second == OLDSTYLE_MAGIC) {
      throw new NbdProtocolException("server speaks the oldstyle handshake (not supported)");
    }
    if (second != IHAVEOPT) {
      throw new NbdProtocolException(
          "bad greeting magic 0x" + Long.toHexString(second) + " (expected IHAVEOPT)");
    }
    int serverFlags = Short.toUnsignedInt(hello.getShort());
    if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
      throw new NbdProtocolException(
          "server handshake flags 0x" + Integer.toHexString(serverFlags) + " lack FIXED_NEWSTYLE");
    }
    int clientFlags = FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES);
    ByteBuffer cf = ByteBuffer.allocate(4).putInt(clientFlags).flip();
    Streams.writeFully(ch, cf);
    return clientFlags;
  }

  private NbdExportInfo run(String exportName, boolean wantStructured) throws IOException {
    int clientFlags = greet();
    boolean structured = false;
    long allocationContext = -1;
    if (wantStructured) {
      sendOption(OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
      Reply r = readReply(OPT_STRUCTURED_REPLY);
      structured = r.type == REP_ACK;
      if (!structured && (r.type & REP_FLAG_ERROR) == 0) {
        throw new NbdProtocolException(
            "STRUCTURED_REPLY answered with "
                + optionReplyName(r.type)
                + " (expected ACK or error)");
      }
    }
    byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
    if (structured) {
      byte[] ctx = BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
      ByteBuffer d = ByteBuffer.allocate(4 + name.length + 4 + 4 + ctx.length);
      d.putInt(name.length).put(name).putInt(1).putInt(ctx.length).put(ctx).flip();
      sendOption(OPT_SET_META_CONTEXT, d);
      for (int i = 0; ; i++) {
        if (i == MAX_REPLIES_PER_OPTION) {
          throw new NbdProtocolException("SET_META_CONTEXT sent too many replies");
        }
        Reply r = readReply(OPT_SET_META_CONTEXT);
        if (r.type == REP_ACK) {
          break;
        }
        if ((r.type & REP_FLAG_ERROR) != 0) {
          break; // The server has no block status: extents then report everything as data.
        }
        if (r.type != REP_META_CONTEXT || r.data.remaining() < 4) {
          throw new NbdProtocolException(
              "SET_META_CONTEXT reply "
                  + optionReplyName(r.type)
                  + " of "
                  + r.data.remaining()
                  + " bytes");
        }
        long id = Integer.toUnsignedLong(r.data.getInt());
        byte[] n = new byte[r.data.remaining()];
        r.data.get(n);
        if (new String(n, StandardCharsets.UTF_8).equals(BASE_ALLOCATION)) {
          allocationContext = id;
        }
      }
    }
    ByteBuffer go = ByteBuffer.allocate(4 + name.length + 2 + 2);
    go.putInt(name.length).put(name).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE).flip();
    sendOption(OPT_GO, go);
    long size = -1;
    int flags = 0;
    int min = 1;
    int preferred = 4096;
    int max = DEFAULT_MAX_PAYLOAD;
    for (int i = 0; ; i++) {
      if (i == MAX_REPLIES_PER_OPTION) {
        throw new NbdProtocolException("GO sent too many replies");
      }
      Reply r = readReply(OPT_GO);
      if (r.type == REP_ACK) {
        break;
      }
      if (r.type == REP_ERR_UNSUP) {
        // A server from before GO: EXPORT_NAME is the only way in.
        return exportName(clientFlags, name, structured, allocationContext);
      }
      if ((r.type & REP_FLAG_ERROR) != 0) {
        throw refused("export '" + exportName + "'", r);
      }
      if (r.type != REP_INFO || r.data.remaining() < 2) {
        throw new NbdProtocolException(
            "GO reply " + optionReplyName(r.type) + " of " + r.data.remaining() + " bytes");
      }
      int infoType = Short.toUnsignedInt(r.data.getShort());
      if (infoType == INFO_EXPORT) {
        if (r.data.remaining() != 10) {
          throw new NbdProtocolException(
              "INFO_EXPORT of " + (r.data.remaining() + 2) + " bytes (expected 12)");
        }
        size = r.data.getLong();
        flags = Short.toUnsignedInt(r.data.getShort());
      } else if (infoType == INFO_BLOCK_SIZE) {
        if (r.data.remaining() != 12) {
          throw new NbdProtocolException(
              "INFO_BLOCK_SIZE of " + (r.data.remaining() + 2) + " bytes (expected 14)");
        }
        long mn = Integer.toUnsignedLong(r.data.getInt());
        long pr = Integer.toUnsignedLong(r.data.getInt());
        long mx = Integer.toUnsignedLong(r.data.getInt());
        if (mn < 1
            || mn > 65536
            || Long.bitCount(mn) != 1
            || pr < mn
            || Long.bitCount(pr) != 1
            || mx < mn
            || (mx % mn != 0 && mx != 0xffffffffL)) {
          throw new NbdProtocolException(
              "block sizes min "
                  + mn
                  + " preferred "
                  + pr
                  + " max "
                  + mx
                  + " (expected powers of two, min <= 64 KiB, max a multiple of min)");
        }
        min = (int) mn;
        preferred = (int) pr;
        max = (int) Math.min(mx, DEFAULT_MAX_PAYLOAD);
      }
      // Other info types (NAME, DESCRIPTION) are not needed.
    }
    return finish(size, flags, min, preferred, max, structured, allocationContext);
  }

  private NbdExportInfo exportName(
      int clientFlags, byte[] name, boolean structured, long allocationContext) throws IOException {
    sendOption(OPT_EXPORT_NAME, ByteBuffer.wrap(name));
    boolean zeroes = (clientFlags & FLAG_NO_ZEROES) == 0;
    ByteBuffer b = ByteBuffer.allocate(10 + (zeroes ? 124 : 0));
    Streams.readFully(ch, b, "EXPORT_NAME answer");
    b.flip();
    long size = b.getLong();
    int flags = Short.toUnsignedInt(b.getShort());
    return finish(size, flags, 1, 4096, DEFAULT_MAX_PAYLOAD, structured, allocationContext);
  }

  private static NbdExportInfo finish(
      long size, int flags, int min, int preferred, int max, boolean structured, long ctx)
      throws NbdProtocolException {
    if (size < 0) {
      throw new NbdProtocolException(
          size == -1
              ? "server finished GO without an INFO_EXPORT"
              : "export size " + Long.toUnsignedString(size) + " (expected < 2^63)");
    }
    if ((flags & TF_HAS_FLAGS) == 0) {
      flags = 0; // Without HAS_FLAGS no other bit means anything.
    }
    return new NbdExportInfo(size, flags, min, preferred, max, structured, structured ? ctx : -1);
  }

  private static IOException refused(String what, Reply r) {
    byte[] msg = new byte[Math.min(r.data.remaining(), 512)];
    r.data.get(msg);
    String text = new String(msg, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
    return new IOException(
        what
            + " refused by server: "
            + optionReplyName(r.type)
            + (text.isEmpty() ? "" : " (" + text + ")"));
  }

  private void sendOption(int option, ByteBuffer data) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(OPTION_HEADER_SIZE);
    h.putLong(IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
    Streams.writeFully(ch, h);
    Streams.writeFully(ch, data);
  }

  private record Reply(int type, ByteBuffer data) {}

  private Reply readReply(int option) throws IOException {
    header.clear();
    Streams.readFully(ch, header, "option reply header");
    header.flip();
    long magic = header.getLong();
    if (magic != OPT_REPLY_MAGIC) {
      throw new NbdProtocolException(
          "bad option reply magic 0x" + Long.toHexString(magic) + " (expected 0x3e889045565a9)");
    }
    int echoed = header.getInt();
    int type = header.getInt();
    long length = Integer.toUnsignedLong(header.getInt());
    if (echoed != option) {
      throw new NbdProtocolException(
          "option reply for option " + echoed + " while asking " + option);
    }
    if (length > MAX_OPTION_REPLY) {
      throw new NbdProtocolException(
          "option reply of " + length + " bytes (expected <= " + MAX_OPTION_REPLY + ")");
    }
    ByteBuffer data = ByteBuffer.allocate((int) length);
    Streams.readFully(ch, data, "option reply");
    return new Reply(type, data.flip());
  }
}
