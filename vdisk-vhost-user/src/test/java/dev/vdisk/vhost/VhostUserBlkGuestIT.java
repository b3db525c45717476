package dev.vdisk.vhost;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.backend.FileDisk;
import dev.vdisk.backend.RamDisk;
import dev.vdisk.backend.ReadOnlyDevice;
import dev.vdisk.vhost.bench.ServerUnderTest;
import dev.vdisk.vhost.testing.HiddenFeaturesDevice;
import dev.vdisk.vhost.testing.Initramfs;
import dev.vdisk.vhost.testing.LinuxGuest;
import dev.vdisk.virtio.blk.BlkError;
import dev.vdisk.virtio.blk.BlkRequestType;
import dev.vdisk.virtio.blk.VirtioBlkDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import net.openhft.chronicle.bytes.BytesStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * vdisk's virtio-blk served over vhost-user to a real Linux guest: QEMU ({@code
 * vhost-user-blk-pci}, TCG) boots the host's Debian kernel with a busybox initramfs whose workload
 * exercises /dev/vda and prints {@code RESULT key value} lines between markers. Each test checks
 * the guest's view and, where it matters, the backend's bytes on the host.
 */
class VhostUserBlkGuestIT {
  static final Duration BOOT_TIMEOUT = Duration.ofMinutes(4);
  static final long MIB = 1 << 20;

  Path dir;

  Path workDir(TestInfo info) throws IOException {
    dir = Path.of("target", "guest", info.getTestMethod().orElseThrow().getName());
    Files.createDirectories(dir);
    return dir;
  }

  /** Serves {@code device} on a fresh socket, boots the guest with {@code workload}, returns. */
  LinuxGuest.Result run(
      TestInfo info, VirtioBlkDevice device, int queues, int cpus, String workload)
      throws IOException {
    Path d = workDir(info);
    Path sock = d.resolve("vu.sock");
    Path initrd = Initramfs.withWorkload(Initramfs.standard(), workload, d.resolve("initrd.cpio"));
    try (VhostUserServer server = VhostUserServer.builder(sock, device).start();
        LinuxGuest guest =
            LinuxGuest.builder()
                .initramfs(initrd)
                .cpus(cpus)
                .vhostUserBlk(sock, queues)
                .consoleLog(d.resolve("console.log"))
                .start()) {
      LinuxGuest.Result r = guest.awaitExit(BOOT_TIMEOUT);
      assertThat(r.timedOut()).as(r.describe()).isFalse();
      assertThat(r.workloadExit()).as(r.describe()).isZero();
      assertThat(server.stats().protocolErrors()).as(r.describe()).isZero();
      return r;
    }
  }

  /** SHA-256 of [offset, offset+length) of a backend, read on the host. */
  static String hostHash(BlockDevice disk, long offset, long length) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    int chunk = (int) Math.min(MIB, length);
    BytesStore<?, Void> buf = BytesStore.nativeStoreWithFixedCapacity(chunk);
    try {
      byte[] heap = new byte[chunk];
      for (long at = offset; at < offset + length; at += chunk) {
        disk.read(at, buf, 0, chunk);
        buf.read(0, heap, 0, chunk);
        md.update(heap);
      }
    } finally {
      buf.releaseLast();
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Shell: SHA-256 of {@code count} MiB of /dev/vda from MiB {@code skip}, bypassing the cache. */
  static String guestHash(String skip, String count) {
    return "dd if=/dev/vda bs=1M skip="
        + skip
        + " count="
        + count
        + " iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1";
  }

  @Test
  void ddPatternAcrossTheWholeDiskReadsBackIdentical(TestInfo info) throws Exception {
    RamDisk ram = RamDisk.create(48 * MIB);
    VirtioBlkDevice device = VirtioBlkDevice.builder(ram).build();
    LinuxGuest.Result r =
        run(
            info,
            device,
            1,
            1,
            """
            set -e
            size=$(blockdev --getsize64 /dev/vda)
            echo "RESULT size $size"
            n=$((size / 1048576))
            # A known, non-repeating pattern: 1 MiB of random bytes, each copy stamped with its index.
            dd if=/dev/urandom of=/tmp/p bs=1M count=1 2>/dev/null
            i=0
            while [ $i -lt $n ]; do
              printf '%-31s\n' "vdisk block $i" > /tmp/b
              dd if=/tmp/p bs=65536 iflag=skip_bytes skip=32 2>/dev/null >> /tmp/b
              dd if=/tmp/b of=/dev/vda bs=1M seek=$i oflag=direct conv=notrunc 2>/dev/null
              sha256sum /tmp/b | cut -d' ' -f1 >> /tmp/blocks
              i=$((i+1))
            done
            echo 3 > /proc/sys/vm/drop_caches
            i=0
            bad=0
            while [ $i -lt $n ]; do
              got=$(dd if=/dev/vda bs=1M skip=$i count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
              want=$(sed -n "$((i+1))p" /tmp/blocks)
              [ "$got" = "$want" ] || bad=$((bad+1))
              i=$((i+1))
            done
            echo "RESULT badblocks $bad"
            echo "RESULT whole $(dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
            """);
    Map<String, String> res = r.results();
    assertThat(res.get("size")).as(r.describe()).isEqualTo(Long.toString(48 * MIB));
    assertThat(res.get("badblocks")).as(r.describe()).isEqualTo("0");
    // The bytes really are in vdisk's backend: the host sees what the guest wrote.
    assertThat(hostHash(ram, 0, 48 * MIB)).as(r.describe()).isEqualTo(res.get("whole"));
    var q = device.stats().queue(0);
    assertThat(q.requests(BlkRequestType.STAT_OUT)).isGreaterThanOrEqualTo(48);
    assertThat(q.bytesOut()).isGreaterThanOrEqualTo(48 * MIB);
  }

  @Test
  void ext4MkfsMountFilesSyncUmountFsckClean(TestInfo info) throws Exception {
    RamDisk ram = RamDisk.create(64 * MIB);
    VirtioBlkDevice device = VirtioBlkDevice.builder(ram).build();
    LinuxGuest.Result r =
        run(
            info,
            device,
            1,
            1,
            """
            set -e
            /sbin/mkfs.ext4 -q -F /dev/vda
            mount -t ext4 /dev/vda /mnt
            i=0
            while [ $i -lt 24 ]; do
              dd if=/dev/urandom of=/mnt/f$i bs=64k count=$((i + 1)) 2>/dev/null
              i=$((i + 1))
            done
            mkdir -p /mnt/d/e
            echo "hello from the guest" > /mnt/d/e/g
            (cd /mnt && sha256sum f* d/e/g) > /tmp/sums
            sync
            umount /mnt
            set +e
            /sbin/e2fsck -f -n /dev/vda > /tmp/fsck 2>&1
            echo "RESULT fsck $?"
            tail -n 1 /tmp/fsck
            set -e
            mount -t ext4 -o ro /dev/vda /mnt
            (cd /mnt && sha256sum -c -s /tmp/sums) && echo "RESULT verify ok"
            echo "RESULT files $(ls /mnt | wc -l)"
            umount /mnt
            """);
    Map<String, String> res = r.results();
    assertThat(res.get("fsck")).as(r.describe()).isEqualTo("0");
    assertThat(res.get("verify")).as(r.describe()).isEqualTo("ok");
    assertThat(res.get("files")).as(r.describe()).isEqualTo("26"); // f0..f23, d, lost+found
    // No FLUSH expected: a RAM disk has no volatile cache, so the device presents a writethrough
    // cache and Linux sends no flushes for it.
    assertThat(device.stats().queue(0).bytesOut()).isPositive();
  }

  @Test
  void twoQueuesCarryParallelIo(TestInfo info) throws Exception {
    RamDisk ram = RamDisk.create(64 * MIB);
    VirtioBlkDevice device = VirtioBlkDevice.builder(ram).queues(2).build();
    // Two vCPUs: Linux maps one virtqueue per CPU, so each writer (pinned) uses its own queue.
    LinuxGuest.Result r =
        run(
            info,
            device,
            2,
            2,
            """
            set -e
            echo "RESULT hwqueues $(ls /sys/block/vda/mq | wc -l)"
            dd if=/dev/urandom of=/tmp/a bs=1M count=16 2>/dev/null
            dd if=/dev/urandom of=/tmp/b bs=1M count=16 2>/dev/null
            taskset 1 dd if=/tmp/a of=/dev/vda bs=64k oflag=direct conv=notrunc 2>/dev/null &
            pa=$!
            taskset 2 dd if=/tmp/b of=/dev/vda bs=64k seek=512 oflag=direct conv=notrunc 2>/dev/null &
            pb=$!
            wait $pa
            wait $pb
            taskset 1 sh -c "dd if=/dev/vda bs=64k count=256 iflag=direct 2>/dev/null | sha256sum" > /tmp/ra &
            taskset 2 sh -c "dd if=/dev/vda bs=64k skip=512 count=256 iflag=direct 2>/dev/null | sha256sum" > /tmp/rb &
            wait
            [ "$(cut -d' ' -f1 /tmp/ra)" = "$(sha256sum /tmp/a | cut -d' ' -f1)" ] && echo "RESULT a ok"
            [ "$(cut -d' ' -f1 /tmp/rb)" = "$(sha256sum /tmp/b | cut -d' ' -f1)" ] && echo "RESULT b ok"
            """);
    Map<String, String> res = r.results();
    assertThat(res.get("hwqueues")).as(r.describe()).isEqualTo("2");
    assertThat(res.get("a")).as(r.describe()).isEqualTo("ok");
    assertThat(res.get("b")).as(r.describe()).isEqualTo("ok");
    var stats = device.stats();
    assertThat(stats.queue(0).bytesOut()).as(stats.toString()).isPositive();
    assertThat(stats.queue(1).bytesOut()).as(stats.toString()).isPositive();
    assertThat(stats.queue(0).bytesOut() + stats.queue(1).bytesOut()).isEqualTo(32 * MIB);
  }

  @Test
  void discardAndWriteZeroes(TestInfo info) throws Exception {
    RamDisk ram = RamDisk.create(32 * MIB);
    VirtioBlkDevice device = VirtioBlkDevice.builder(ram).build();
    LinuxGuest.Result r =
        run(
            info,
            device,
            1,
            1,
            """
            set -e
            echo "RESULT discard_max $(cat /sys/block/vda/queue/discard_max_bytes)"
            echo "RESULT write_zeroes_max $(cat /sys/block/vda/queue/write_zeroes_max_bytes)"
            dd if=/dev/urandom of=/dev/vda bs=1M count=16 oflag=direct 2>/dev/null
            zero=$(dd if=/dev/zero bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
            echo "RESULT before_zeroes $([ "$(%s)" = "$zero" ] && echo zero || echo data)"
            /sbin/blkdiscard -o 0 -l 4194304 /dev/vda
            echo "RESULT discard ok"
            /sbin/blkdiscard -z -o 4194304 -l 4194304 /dev/vda
            echo "RESULT zeroout ok"
            echo "RESULT after_zeroes $([ "$(%s)" = "$zero" ] && echo zero || echo data)"
            echo "RESULT rest $([ "$(%s)" = "$zero" ] && echo zero || echo data)"
            """
                .formatted(guestHash("4", "4"), guestHash("4", "4"), guestHash("8", "4")));
    Map<String, String> res = r.results();
    assertThat(Long.parseLong(res.get("discard_max"))).as(r.describe()).isPositive();
    assertThat(Long.parseLong(res.get("write_zeroes_max"))).as(r.describe()).isPositive();
    assertThat(res.get("before_zeroes")).isEqualTo("data");
    assertThat(res.get("discard")).isEqualTo("ok");
    assertThat(res.get("zeroout")).isEqualTo("ok");
    assertThat(res.get("after_zeroes")).as(r.describe()).isEqualTo("zero");
    assertThat(res.get("rest")).isEqualTo("data");
    var q = device.stats().queue(0);
    assertThat(q.requests(BlkRequestType.STAT_DISCARD)).as(q.toString()).isPositive();
    assertThat(q.requests(BlkRequestType.STAT_WRITE_ZEROES)).as(q.toString()).isPositive();
    // The discarded 4 MiB went back to the host (the RAM disk is sparse): at most the 8 MiB of
    // still-written data is allocated, plus at most one chunk around the boundaries.
    assertThat(ram.allocatedBytes()).isLessThanOrEqualTo(12 * MIB + RamDisk.DEFAULT_CHUNK_SIZE);
    assertThat(hostHash(ram, 4 * MIB, 4 * MIB))
        .isEqualTo(hostHash(RamDisk.create(4 * MIB), 0, 4 * MIB));
  }

  @Test
  void readOnlyDeviceRefusesWritesWithAnIoError(TestInfo info) throws Exception {
    RamDisk ram = RamDisk.create(16 * MIB);
    BytesStore<?, Void> pattern = BytesStore.nativeStoreWithFixedCapacity(MIB);
    for (int i = 0; i < MIB; i += 8) {
      pattern.writeLong(i, 0x5644495348454c4cL ^ i);
    }
    for (long at = 0; at < 16 * MIB; at += MIB) {
      ram.write(at, pattern, 0, (int) MIB);
    }
    pattern.releaseLast();
    String before = hostHash(ram, 0, 16 * MIB);
    // vda: read-only as served (RO offered). Linux honours the bit and refuses writes itself
    // (EPERM), even BLKZEROOUT, so no write reaches the device.
    VirtioBlkDevice offered = VirtioBlkDevice.builder(ReadOnlyDevice.of(ram)).build();
    // vdb: the same read-only disk with the RO bit hidden from the driver, so the guest does send
    // writes; vdisk must refuse them itself and the guest must see an I/O error.
    VirtioBlkDevice hiddenRo = VirtioBlkDevice.builder(ReadOnlyDevice.of(ram)).build();
    Path d = workDir(info);
    Path sockA = d.resolve("ro.sock");
    Path sockB = d.resolve("ro-hidden.sock");
    Path initrd =
        Initramfs.withWorkload(
            Initramfs.standard(),
            """
            i=0
            while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            echo "RESULT ro $(cat /sys/block/vda/ro)"
            dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct 2>/tmp/e1
            echo "RESULT dd_rc $?"
            echo "RESULT dd_err $(grep -m 1 error /tmp/e1)"
            /sbin/blkdiscard -z -o 0 -l 65536 /dev/vda 2>/tmp/e2
            echo "RESULT zeroout_rc $?"
            echo "RESULT hidden_ro $(cat /sys/block/vdb/ro)"
            dd if=/dev/zero of=/dev/vdb bs=4k count=1 oflag=direct 2>/tmp/e3
            echo "RESULT hidden_dd_rc $?"
            echo "RESULT hidden_dd_err $(grep -m 1 error /tmp/e3)"
            echo "RESULT read $(dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
            echo "RESULT hidden_read $(dd if=/dev/vdb bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
            """,
            d.resolve("initrd.cpio"));
    long roBit = 1L << 5; // VIRTIO_BLK_F_RO
    assertThat(offered.deviceFeatures() & roBit).isNotZero();
    try (VhostUserServer a = VhostUserServer.builder(sockA, offered).start();
        VhostUserServer b =
            VhostUserServer.builder(sockB, new HiddenFeaturesDevice(hiddenRo, roBit)).start();
        LinuxGuest guest =
            LinuxGuest.builder()
                .initramfs(initrd)
                .vhostUserBlk(sockA, 1)
                .vhostUserBlk(sockB, 1)
                .consoleLog(d.resolve("console.log"))
                .start()) {
      LinuxGuest.Result r = guest.awaitExit(BOOT_TIMEOUT);
      assertThat(r.workloadExit()).as(r.describe()).isZero();
      Map<String, String> res = r.results();
      assertThat(res.get("ro")).as(r.describe()).isEqualTo("1");
      assertThat(res.get("dd_rc")).as(r.describe()).isNotEqualTo("0");
      assertThat(res.get("dd_err")).as(r.describe()).contains("Operation not permitted");
      assertThat(res.get("zeroout_rc")).as(r.describe()).isNotEqualTo("0");
      assertThat(res.get("hidden_ro")).as(r.describe()).isEqualTo("0");
      assertThat(res.get("hidden_dd_rc")).as(r.describe()).isNotEqualTo("0");
      assertThat(res.get("hidden_dd_err")).as(r.describe()).contains("Input/output error");
      assertThat(res.get("read")).isEqualTo(before);
      assertThat(res.get("hidden_read")).isEqualTo(before);
      var q = hiddenRo.stats().queue(0);
      assertThat(q.errors(BlkError.READ_ONLY) + q.errors(BlkError.BACKEND_READ_ONLY))
          .as(q.toString())
          .isPositive();
      assertThat(offered.stats().queue(0).requests(BlkRequestType.STAT_OUT)).isZero();
      assertThat(a.stats().protocolErrors() + b.stats().protocolErrors()).isZero();
    }
    assertThat(hostHash(ram, 0, 16 * MIB)).isEqualTo(before);
  }

  @Test
  void sparseDiskLargerThan2TiBReportsItsSize(TestInfo info) throws Exception {
    long size = 3L << 40; // 3 TiB: sector numbers above 2^32
    RamDisk ram = RamDisk.create(size, 512, 1 << 20);
    VirtioBlkDevice device = VirtioBlkDevice.builder(ram).build();
    LinuxGuest.Result r =
        run(
            info,
            device,
            1,
            1,
            """
            set -e
            echo "RESULT bytes $(blockdev --getsize64 /dev/vda)"
            echo "RESULT sectors $(cat /sys/block/vda/size)"
            last=$(( $(blockdev --getsize64 /dev/vda) / 1048576 - 1 ))
            printf 'the last MiB of a 3 TiB disk' > /tmp/m
            dd if=/tmp/m of=/dev/vda bs=1M seek=$last oflag=direct conv=sync 2>/dev/null
            echo "RESULT tail $(dd if=/dev/vda bs=1M skip=$last count=1 iflag=direct 2>/dev/null | head -c 28)"
            """);
    Map<String, String> res = r.results();
    assertThat(res.get("bytes")).as(r.describe()).isEqualTo(Long.toString(size));
    assertThat(res.get("sectors")).isEqualTo(Long.toString(size / 512));
    assertThat(res.get("tail")).as(r.describe()).isEqualTo("the last MiB of a 3 TiB disk");
    assertThat(ram.allocatedBytes()).isEqualTo(MIB);
  }

  /**
   * A crash, not a clean stop: the back end is a separate vdisk process, SIGKILLed while the guest
   * streams O_DIRECT writes, and a new one is started on the same (now stale) socket. QEMU
   * (reconnect=1) cannot read the ring base from the dead back end and restarts the ring at the
   * guest's used index; because vdisk completes a ring's requests in order, that loses nothing
   * without INFLIGHT_SHMFD (see README). The guest must see no I/O error and read back exactly what
   * it wrote, and so must the host.
   */
  @Test
  void serverProcessKilledMidWriteRestartsWithoutLosingRequests(TestInfo info) throws Exception {
    Path d = workDir(info);
    Path sock = d.resolve("vu.sock");
    Path image = d.resolve("disk.img");
    Files.deleteIfExists(image);
    FileDisk.create(image, 32 * MIB, 512).close();
    Path initrd =
        Initramfs.withWorkload(
            Initramfs.standard(),
            """
            set -e
            dd if=/dev/urandom of=/tmp/a bs=1M count=16 2>/dev/null
            echo "RESULT written $(sha256sum /tmp/a | cut -d' ' -f1)"
            i=0
            while [ $i -lt 10 ]; do
              # 16 KiB writes: a thousand requests per pass, so the kill lands inside one.
              dd if=/tmp/a of=/dev/vda bs=16k oflag=direct conv=notrunc 2>/dev/null
              i=$((i+1))
              echo "VDISK-PASS $i"
            done
            echo 3 > /proc/sys/vm/drop_caches
            echo "RESULT reread $(%s)"
            echo "RESULT ioerrors $(dmesg | grep -c -i 'i/o error' || true)"
            """
                .formatted(guestHash("0", "16")),
            d.resolve("initrd.cpio"));
    ServerUnderTest first = ServerUnderTest.start(ServerUnderTest.VDISK, sock, image, 1);
    try (LinuxGuest guest =
        LinuxGuest.builder()
            .initramfs(initrd)
            .vhostUserBlk(sock, 1, 1)
            .consoleLog(d.resolve("console.log"))
            .start()) {
      // Pass 2 done: pass 3's writes are streaming through the ring when the back end dies.
      assertThat(guest.awaitConsole("VDISK-PASS 2", BOOT_TIMEOUT))
          .as(guest.console() + "\nserver:\n" + first.output())
          .isTrue();
      first.kill();
      assertThat(guest.console()).as(guest.console()).doesNotContain("VDISK-PASS 10");
      try (ServerUnderTest second = ServerUnderTest.start(ServerUnderTest.VDISK, sock, image, 1)) {
        LinuxGuest.Result r = guest.awaitExit(BOOT_TIMEOUT);
        assertThat(r.workloadExit()).as(r.describe() + "\nserver:\n" + second.output()).isZero();
        Map<String, String> res = r.results();
        assertThat(res.get("reread")).as(r.describe()).isEqualTo(res.get("written"));
        assertThat(res.get("ioerrors")).as(r.describe()).isEqualTo("0");
        second.close();
        try (FileDisk disk = FileDisk.open(image, true)) {
          assertThat(hostHash(disk, 0, 16 * MIB)).isEqualTo(res.get("written"));
        }
      }
    } finally {
      first.close();
    }
  }

  @Test
  void serverKilledAndRestartedWhileTheGuestIsIdle(TestInfo info) throws Exception {
    Path d = workDir(info);
    Path sock = d.resolve("vu.sock");
    Path image = d.resolve("disk.img");
    Files.deleteIfExists(image);
    FileDisk.create(image, 32 * MIB, 512).close();
    Path initrd =
        Initramfs.withWorkload(
            Initramfs.standard(),
            """
            set -e
            dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null
            dd if=/tmp/a of=/dev/vda bs=1M oflag=direct 2>/dev/null
            echo "RESULT written $(sha256sum /tmp/a | cut -d' ' -f1)"
            echo VDISK-READY-FOR-RESTART
            read go
            echo "RESULT resumed $go"
            echo 3 > /proc/sys/vm/drop_caches
            echo "RESULT reread $(%s)"
            dd if=/dev/urandom of=/tmp/b bs=1M count=8 2>/dev/null
            dd if=/tmp/b of=/dev/vda bs=1M seek=8 oflag=direct 2>/dev/null
            echo "RESULT written2 $(sha256sum /tmp/b | cut -d' ' -f1)"
            echo "RESULT reread2 $(%s)"
            """
                .formatted(guestHash("0", "8"), guestHash("8", "8")),
            d.resolve("initrd.cpio"));
    FileDisk first = FileDisk.open(image, false);
    VhostUserServer server =
        VhostUserServer.builder(sock, VirtioBlkDevice.builder(first).build()).start();
    try (LinuxGuest guest =
        LinuxGuest.builder()
            .initramfs(initrd)
            .vhostUserBlk(sock, 1, 1)
            .consoleLog(d.resolve("console.log"))
            .start()) {
      assertThat(guest.awaitConsole("VDISK-READY-FOR-RESTART", BOOT_TIMEOUT))
          .as(guest.console())
          .isTrue();
      // "Kill": the server goes away with its connection, the device and the open image.
      server.close();
      first.close();
      FileDisk second = FileDisk.open(image, false);
      VirtioBlkDevice device = VirtioBlkDevice.builder(second).build();
      try (VhostUserServer restarted = VhostUserServer.builder(sock, device).start()) {
        // QEMU reconnects (reconnect=1) and restarts the rings where they were.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!device.isActive() && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(device.isActive()).as(guest.console()).isTrue();
        guest.sendLine("go");
        LinuxGuest.Result r = guest.awaitExit(BOOT_TIMEOUT);
        assertThat(r.workloadExit()).as(r.describe()).isZero();
        Map<String, String> res = r.results();
        assertThat(res.get("resumed")).isEqualTo("go");
        assertThat(res.get("reread")).as(r.describe()).isEqualTo(res.get("written"));
        assertThat(res.get("reread2")).as(r.describe()).isEqualTo(res.get("written2"));
        assertThat(restarted.stats().protocolErrors()).isZero();
        assertThat(hostHash(second, 0, 8 * MIB)).isEqualTo(res.get("written"));
      } finally {
        second.close();
      }
    }
  }
}
