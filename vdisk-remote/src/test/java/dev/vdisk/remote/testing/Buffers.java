package dev.vdisk.remote.testing;

import dev.vdisk.api.BlockDevice;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import net.openhft.chronicle.bytes.BytesStore;

/** Native buffers and checksums for tests. */
public final class Buffers {
  private Buffers() {}

  public static BytesStore<?, Void> random(int size, long seed) {
    BytesStore<?, Void> s = BytesStore.nativeStoreWithFixedCapacity(size);
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    s.write(0, b);
    return s;
  }

  public static BytesStore<?, Void> zeroed(int size) {
    BytesStore<?, Void> s = BytesStore.nativeStoreWithFixedCapacity(size);
    s.zeroOut(0, size);
    return s;
  }

  public static byte[] bytes(BytesStore<?, ?> s, long offset, int length) {
    byte[] b = new byte[length];
    s.read(offset, b, 0, length);
    return b;
  }

  /** SHA-256 of the whole device, read in 1 MiB pieces. */
  public static String sha256(BlockDevice d) throws IOException {
    MessageDigest md = sha();
    int chunk = 1 << 20;
    BytesStore<?, Void> buf = BytesStore.nativeStoreWithFixedCapacity(chunk);
    try {
      byte[] b = new byte[chunk];
      for (long off = 0; off < d.size(); off += chunk) {
        int n = (int) Math.min(chunk, d.size() - off);
        d.read(off, buf, 0, n);
        buf.read(0, b, 0, n);
        md.update(b, 0, n);
      }
    } finally {
      buf.releaseLast();
    }
    return HexFormat.of().formatHex(md.digest());
  }

  public static String sha256(byte[] data) {
    return HexFormat.of().formatHex(sha().digest(data));
  }

  public static String sha256(java.nio.file.Path file) throws IOException {
    MessageDigest md = sha();
    try (var in = java.nio.file.Files.newInputStream(file)) {
      byte[] b = new byte[1 << 20];
      int n;
      while ((n = in.read(b)) > 0) {
        md.update(b, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest sha() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
