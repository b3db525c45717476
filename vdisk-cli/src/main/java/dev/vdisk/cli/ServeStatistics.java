package dev.vdisk.cli;

import dev.vdisk.api.Sizes;
import dev.vdisk.vhost.VhostUserStats;
import dev.vdisk.virtio.blk.BlkDeviceStats;
import dev.vdisk.virtio.blk.BlkQueueStatsSnapshot;
import dev.vdisk.virtio.blk.BlkRequestType;
import java.io.PrintWriter;
import java.util.Locale;

/** What {@code vdisk serve} prints when it stops. */
record ServeStatistics(VhostUserStats vhost, BlkDeviceStats device, long elapsedNanos) {

  void print(PrintWriter out) {
    out.printf(Locale.ROOT, "vdisk serve: stopped after %.1f s%n", elapsedNanos / 1e9);
    out.printf(
        Locale.ROOT,
        "  vhost-user: %d connections (%d closed for protocol errors), %d messages, %d kicks,"
            + " %d interrupts%n",
        vhost.connections(),
        vhost.protocolErrors(),
        vhost.messages(),
        vhost.kicks(),
        vhost.calls());
    out.printf(
        Locale.ROOT,
        "  device: %d driver sessions, %d config changes, %d internal errors%n",
        device.sessions(),
        device.configChanges(),
        device.internalErrors());
    for (BlkQueueStatsSnapshot q : device.queues()) {
      long errors = 0;
      for (long e : q.errors()) {
        errors += e;
      }
      out.printf(
          Locale.ROOT,
          "  queue %d: %d reads (%s), %d writes (%s), %d flushes, %d discards, %d write-zeroes,"
              + " %d other, %d errors%n",
          q.index(),
          q.requests(BlkRequestType.STAT_IN),
          Sizes.human(q.bytesIn()),
          q.requests(BlkRequestType.STAT_OUT),
          Sizes.human(q.bytesOut()),
          q.requests(BlkRequestType.STAT_FLUSH),
          q.requests(BlkRequestType.STAT_DISCARD),
          q.requests(BlkRequestType.STAT_WRITE_ZEROES),
          q.requests(BlkRequestType.STAT_GET_ID)
              + q.requests(BlkRequestType.STAT_GET_LIFETIME)
              + q.requests(BlkRequestType.STAT_SECURE_ERASE)
              + q.requests(BlkRequestType.STAT_OTHER),
          errors);
    }
  }
}
