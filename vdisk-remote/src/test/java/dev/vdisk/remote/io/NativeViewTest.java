package dev.vdisk.remote.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;

/**
 * The view must work on every supported JDK: retargeted in place where Buffer's fields can be
 * written (17), a fresh buffer where they cannot (25 made {@code capacity} final).
 */
class NativeViewTest {
  @Test
  void viewsSeeAndWriteTheStoreAtEveryRetarget() {
    BytesStore<?, Void> store = BytesStore.nativeStoreWithFixedCapacity(8192);
    try {
      for (int i = 0; i < 8192; i++) {
        store.writeByte(i, (byte) i);
      }
      NativeView v = new NativeView();
      ByteBuffer a = v.of(store, 100, 50);
      assertThat(a.position()).isZero();
      assertThat(a.limit()).isEqualTo(50);
      assertThat(a.capacity()).isEqualTo(50);
      assertThat(a.get(0)).isEqualTo((byte) 100);
      assertThat(a.get(49)).isEqualTo((byte) 149);
      ByteBuffer b = v.of(store, 4096, 4096);
      assertThat(b.remaining()).isEqualTo(4096);
      assertThat(b.get(1)).isEqualTo((byte) 4097);
      b.put(0, (byte) 0x5a);
      assertThat(store.readByte(4096)).isEqualTo((byte) 0x5a);
    } finally {
      store.releaseLast();
    }
  }
}
