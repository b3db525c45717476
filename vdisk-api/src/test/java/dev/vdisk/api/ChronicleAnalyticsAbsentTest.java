package dev.vdisk.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;

/**
 * chronicle-analytics phones home; the parent POM excludes it from Chronicle's dependencies and the
 * enforcer bans it. These tests prove the exclusion holds on the test class path and that Chronicle
 * (and so guest memory) works without it.
 */
class ChronicleAnalyticsAbsentTest {

  @Test
  void theAnalyticsClassIsNotOnTheClassPath() {
    // net.openhft.chronicle.analytics.Analytics is the entry point of chronicle-analytics
    // (checked against chronicle-analytics-2026.2.jar).
    assertThatThrownBy(
            () ->
                Class.forName(
                    "net.openhft.chronicle.analytics.Analytics",
                    false,
                    ChronicleAnalyticsAbsentTest.class.getClassLoader()))
        .isInstanceOf(ClassNotFoundException.class);
    assertThat(
            ChronicleAnalyticsAbsentTest.class
                .getClassLoader()
                .getResource("net/openhft/chronicle/analytics/Analytics.class"))
        .isNull();
  }

  @Test
  void chronicleAndGuestMemoryWorkWithoutIt() throws IOException {
    BytesStore<?, Void> store = BytesStore.nativeStoreWithFixedCapacity(64);
    try {
      store.writeLong(8, 42L);
      assertThat(store.readLong(8)).isEqualTo(42L);
    } finally {
      store.releaseLast();
    }
    try (GuestMemory mem = GuestMemory.allocate(0, 4096)) {
      mem.putU16(2, 0xbeef);
      assertThat(mem.u16(2)).isEqualTo(0xbeef);
    }
    assertThat(System.getProperty("chronicle.analytics.disable"))
        .as("the test JVM flags also switch analytics off")
        .isEqualTo("true");
  }
}
