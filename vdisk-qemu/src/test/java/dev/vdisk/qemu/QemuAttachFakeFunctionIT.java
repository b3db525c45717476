package dev.vdisk.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attach sequence against a real QEMU 7.2 with a small non-virtio function: QEMU realizes the
 * proxy (SYNC_SYSMEM, SET_IRQFD, identity reads, BAR probing through our codec), SeaBIOS assigns
 * the BARs, {@code query-pci} shows our BAR sizes and types, and {@code quit} ends the session with
 * a normal return. Also: unreachable QMP and a refused {@code device_add} give one-line reasons.
 */
class QemuAttachFakeFunctionIT {
  @TempDir Path dir;

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void qemuRealizesTheProxyAndSeesOurFunction() throws Exception {
    try (QemuProcess qemu = QemuProcess.start(dir, "pc", 64, List.of())) {
      FakeFunction function = new FakeFunction();
      List<String> status = new CopyOnWriteArrayList<>();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread attach =
          new Thread(
              () -> {
                try {
                  new QemuAttachment(qemu.qmp.toString(), "fake0", Duration.ofSeconds(30))
                      .onStatus(status::add)
                      .run(intx -> function);
                } catch (Throwable t) {
                  failure.set(t);
                }
              });
      attach.start();
      // Wait until the attachment has resumed the VM and released QMP.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (status.isEmpty() && failure.get() == null && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(failure.get()).as("attach failed; QEMU printed:\n" + qemu.output()).isNull();
      assertThat(status).as("QEMU printed:\n" + qemu.output()).isNotEmpty();
      assertThat(function.memory).as("guest RAM arrived by SYNC_SYSMEM").isNotNull();

      JsonNode dev = null;
      JsonNode pci = null;
      try (QmpClient qmp = QmpClient.connect(qemu.qmp.toString(), Duration.ofSeconds(30))) {
        qmp.capabilities();
        // SeaBIOS assigns BARs within its first second; poll query-pci until it did.
        while (System.nanoTime() < deadline) {
          pci = qmp.execute("query-pci", null);
          dev = findDevice(pci, "fake0");
          if (dev != null && dev.path("regions").size() == 2 && barAddress(dev, 0) != 0) {
            break;
          }
          Thread.sleep(100);
        }
        assertThat(dev)
            .as("query-pci shows fake0: " + pci + "\nQEMU printed:\n" + qemu.output())
            .isNotNull();
        // query-pci reads the proxy's shadow config, whose IDs 7.2 leaves 0 (it copies them into
        // its class, too late); the guest reads ours through the proxy. The pin is forced to INTA.
        assertThat(dev.path("irq_pin").asInt()).isEqualTo(1);
        assertThat(region(dev, 0).path("size").asLong()).isEqualTo(FakeFunction.BAR0_SIZE);
        assertThat(region(dev, 0).path("type").asText()).isEqualTo("memory");
        assertThat(region(dev, 1).path("size").asLong()).isEqualTo(FakeFunction.BAR1_SIZE);
        assertThat(region(dev, 1).path("type").asText()).isEqualTo("io");
        assertThat(barAddress(dev, 0)).isNotZero();
        qmp.execute("quit", null);
      }
      attach.join(30_000);
      assertThat(attach.isAlive()).as("attach returns when QEMU exits").isFalse();
      assertThat(failure.get()).isNull();
      assertThat(status.get(status.size() - 1)).contains("QEMU closed the connection");
      assertThat(qemu.waitFor(30)).isZero();
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void unreachableQmpIsAOneLineReason() {
    Path missing = dir.resolve("nothing.sock");
    assertThatThrownBy(
            () ->
                new QemuAttachment(missing.toString(), "x", Duration.ofSeconds(5))
                    .run(intx -> new FakeFunction()))
        .hasMessageStartingWith("cannot reach QEMU's QMP socket " + missing)
        .message()
        .doesNotContain("\n");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void refusedDeviceAddIsAOneLineReason() throws Exception {
    try (QemuProcess qemu =
        QemuProcess.start(dir, "pc", 64, List.of("-device", "e1000,id=taken"))) {
      assertThatThrownBy(
              () ->
                  new QemuAttachment(qemu.qmp.toString(), "taken", Duration.ofSeconds(30))
                      .run(intx -> new FakeFunction()))
          .isInstanceOf(QmpException.class)
          .hasMessageContaining("QEMU refused device_add")
          .message()
          .doesNotContain("\n");
      assertThat(Files.exists(qemu.qmp)).isTrue();
      assertThat(qemu.process.isAlive()).isTrue();
    }
  }

  private static JsonNode findDevice(JsonNode buses, String id) {
    for (JsonNode bus : buses) {
      for (JsonNode d : bus.path("devices")) {
        if (id.equals(d.path("qdev_id").asText())) {
          return d;
        }
      }
    }
    return null;
  }

  private static JsonNode region(JsonNode dev, int bar) {
    for (JsonNode r : dev.path("regions")) {
      if (r.path("bar").asInt() == bar) {
        return r;
      }
    }
    throw new AssertionError("no region for BAR" + bar + " in " + dev);
  }

  private static long barAddress(JsonNode dev, int bar) {
    for (JsonNode r : dev.path("regions")) {
      if (r.path("bar").asInt() == bar) {
        return r.path("address").asLong();
      }
    }
    return 0;
  }
}
