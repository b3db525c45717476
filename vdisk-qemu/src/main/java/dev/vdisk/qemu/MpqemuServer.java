package dev.vdisk.qemu;

import static dev.vdisk.qemu.MpqemuLayout.BAR_ADDR;
import static dev.vdisk.qemu.MpqemuLayout.BAR_MEMORY;
import static dev.vdisk.qemu.MpqemuLayout.BAR_MSG_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.BAR_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.BAR_VAL;
import static dev.vdisk.qemu.MpqemuLayout.CONF_ADDR;
import static dev.vdisk.qemu.MpqemuLayout.CONF_LEN;
import static dev.vdisk.qemu.MpqemuLayout.CONF_MSG_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.CONF_VAL;
import static dev.vdisk.qemu.MpqemuLayout.SYSMEM_GPAS;
import static dev.vdisk.qemu.MpqemuLayout.SYSMEM_MAX_ENTRIES;
import static dev.vdisk.qemu.MpqemuLayout.SYSMEM_MSG_SIZE;
import static dev.vdisk.qemu.MpqemuLayout.SYSMEM_OFFSETS;
import static dev.vdisk.qemu.MpqemuLayout.SYSMEM_SIZES;

import com.sun.jna.Memory;
import dev.vdisk.api.GuestMemory;
import dev.vdisk.qemu.natives.Posix;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The remote side of QEMU 7.2's multi-process PCI proxy for one function: reads each message,
 * dispatches it, and answers every request with exactly one RET, in order (the proxy matches
 * replies by order alone and a vCPU waits for each). A message the remote refuses (unknown command,
 * wrong size, fds where none belong or missing, bad ranges) is logged, its fds closed, and answered
 * with a RET of all-ones when the proxy waits for one; the session goes on.
 *
 * <p>One thread runs {@link #serve()}; {@link #stop()} may be called from any thread.
 */
public final class MpqemuServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MpqemuServer.class);

  /** The value of every RET that answers a refused request. */
  public static final long ALL_ONES = -1L;

  private final MpqemuChannel channel;
  private final ProxiedFunction function;
  private final IntxEventFds intx;
  private final SysmemMap sysmem = new SysmemMap();
  private final BarDecoder bars = new BarDecoder();
  private final MpqemuMessage msg = new MpqemuMessage();
  private final ProtocolErrorLog errors = new ProtocolErrorLog(LOG);
  private final long[] gpas = new long[SYSMEM_MAX_ENTRIES];
  private final long[] sizes = new long[SYSMEM_MAX_ENTRIES];
  private final long[] offsets = new long[SYSMEM_MAX_ENTRIES];
  private final int[] pollFds = new int[3];
  private final Memory pollScratch = new Memory(8L * 3);
  private final int stopFd;
  private long requests;
  private long syncs;
  private long resets;

  /**
   * Serves {@code socketFd} (taken over: closed by {@link #close()}) for {@code function}, whose
   * INTx pin must be {@code intx}.
   */
  public MpqemuServer(int socketFd, ProxiedFunction function, IntxEventFds intx)
      throws IOException {
    this.channel = new MpqemuChannel(socketFd);
    this.function = function;
    this.intx = intx;
    this.stopFd = Posix.eventFd(Posix.EFD_NONBLOCK);
    bars.refresh(function);
  }

  /** A fresh INTx line for a function this server will drive. */
  public static IntxEventFds newIntxLine() {
    return new IntxEventFds();
  }

  /**
   * Serves until the proxy closes the connection (QEMU exited: returns normally) or {@link #stop()}
   * is called. Throws only when the socket itself fails.
   */
  public void serve() throws IOException {
    while (true) {
      pollFds[0] = channel.fd();
      pollFds[1] = stopFd;
      int resample = intx.resampleFd();
      pollFds[2] = resample;
      int ready = Posix.pollReadable(pollScratch, pollFds, resample >= 0 ? 3 : 2, -1);
      if (ready == 1) {
        return;
      }
      if (ready == 2) {
        intx.resample();
        continue;
      }
      if (ready != 0) {
        continue;
      }
      if (!channel.receive(msg)) {
        LOG.info(
            "QEMU closed the proxy connection after {} requests, {} memory maps, {} resets",
            requests,
            syncs,
            resets);
        return;
      }
      handle();
    }
  }

  /** Makes {@link #serve()} return at its next wait. */
  public void stop() {
    try {
      Posix.eventFdWrite(stopFd, 1);
    } catch (IOException e) {
      LOG.warn("could not wake the proxy server: {}", e.getMessage());
    }
  }

  /** Requests answered so far. */
  public long requests() {
    return requests;
  }

  /** Messages refused so far. */
  public long protocolErrors() {
    return errors.errors();
  }

  /** The current guest-RAM view (null before the first SYNC_SYSMEM). */
  public GuestMemory memory() {
    return sysmem.current();
  }

  int mappingCount() {
    return sysmem.mappingCount();
  }

  private void handle() throws IOException {
    MpqemuMessage m = msg;
    int cmd = m.cmd;
    try {
      if (m.strayFds) {
        refuse("fds outside the message header or more than 8 of them");
        return;
      }
      switch (cmd) {
        case MpqemuCommand.SYNC_SYSMEM -> syncSysmem();
        case MpqemuCommand.SET_IRQFD -> setIrqFd();
        case MpqemuCommand.PCI_CFGREAD, MpqemuCommand.PCI_CFGWRITE -> config(cmd);
        case MpqemuCommand.BAR_READ, MpqemuCommand.BAR_WRITE -> bar(cmd);
        case MpqemuCommand.DEVICE_RESET -> deviceReset();
        case MpqemuCommand.RET -> refuse("a RET is a reply, never a request");
        default -> refuse("unknown command");
      }
    } catch (RuntimeException e) {
      // A bug in the function must not kill the session or leave the vCPU waiting.
      LOG.error("{} failed inside the device", m, e);
      m.closeFds();
      if (MpqemuCommand.owesReply(cmd)) {
        reply(ALL_ONES);
      }
    }
  }

  /** Logs, closes the message's fds, and answers all-ones when the proxy waits for a reply. */
  private void refuse(String why) throws IOException {
    MpqemuMessage m = msg;
    errors.error("refused " + m + ": " + why);
    m.closeFds();
    if (MpqemuCommand.owesReply(m.cmd)) {
      reply(ALL_ONES);
    }
  }

  private boolean checkShape(long expectedSize, int expectedFds) throws IOException {
    MpqemuMessage m = msg;
    if (m.size != expectedSize) {
      refuse("payload size " + Long.toUnsignedString(m.size) + " (expected " + expectedSize + ")");
      return false;
    }
    if (m.fdCount != expectedFds) {
      refuse(m.fdCount + " fds (expected " + expectedFds + ")");
      return false;
    }
    return true;
  }

  private void reply(long value) throws IOException {
    requests++;
    channel.sendRet(value);
  }

  private void syncSysmem() throws IOException {
    MpqemuMessage m = msg;
    if (m.size != SYSMEM_MSG_SIZE) {
      refuse(
          "payload size " + Long.toUnsignedString(m.size) + " (expected " + SYSMEM_MSG_SIZE + ")");
      return;
    }
    // mpqemu_msg_valid() rejects 8 fds, so a valid map has 1..7 entries.
    if (m.fdCount < 1 || m.fdCount >= SYSMEM_MAX_ENTRIES) {
      refuse(m.fdCount + " memory fds (expected 1.." + (SYSMEM_MAX_ENTRIES - 1) + ")");
      return;
    }
    int n = m.fdCount;
    for (int i = 0; i < n; i++) {
      gpas[i] = m.u64(SYSMEM_GPAS + 8 * i);
      sizes[i] = m.u64(SYSMEM_SIZES + 8 * i);
      offsets[i] = m.u64(SYSMEM_OFFSETS + 8 * i);
    }
    try {
      GuestMemory memory = sysmem.sync(m.fds, n, gpas, sizes, offsets);
      syncs++;
      if (LOG.isDebugEnabled()) {
        LOG.debug("guest RAM map {}: {}", syncs, memory.describeRanges());
      }
      function.memoryChanged(memory);
    } catch (SysmemException e) {
      refuse(e.getMessage() + "; the previous map stays in force");
      return;
    } finally {
      // The mappings hold their own references to the files; the fds were only the messengers.
      m.closeFds();
    }
  }

  private void setIrqFd() throws IOException {
    if (!checkShape(0, 2)) {
      return;
    }
    MpqemuMessage m = msg;
    int irq = m.takeFd(0);
    int resample = m.takeFd(1);
    m.fdCount = 0;
    intx.set(irq, resample);
  }

  private void config(int cmd) throws IOException {
    if (!checkShape(CONF_MSG_SIZE, 0)) {
      return;
    }
    MpqemuMessage m = msg;
    long addr = m.u32(CONF_ADDR);
    int len = m.i32(CONF_LEN);
    if (len != 1 && len != 2 && len != 4) {
      refuse("config access length " + len + " (expected 1, 2 or 4)");
      return;
    }
    if (addr > ProxiedFunction.CONFIG_SPACE_SIZE - len) {
      refuse(
          String.format("config access at 0x%x length %d (expected inside 0x00..0xff)", addr, len));
      return;
    }
    if (cmd == MpqemuCommand.PCI_CFGREAD) {
      long value = function.configRead((int) addr, len) & lengthMask(len);
      reply(value);
    } else {
      function.configWrite((int) addr, len, m.u32(CONF_VAL) & lengthMask(len));
      bars.refresh(function);
      reply(0);
    }
  }

  private void bar(int cmd) throws IOException {
    if (!checkShape(BAR_MSG_SIZE, 0)) {
      return;
    }
    MpqemuMessage m = msg;
    long addr = m.u64(BAR_ADDR);
    long size = m.u32(BAR_SIZE);
    boolean memory = m.u8(BAR_MEMORY) != 0;
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      refuse("BAR access size " + size + " (expected 1, 2, 4 or 8)");
      return;
    }
    int len = (int) size;
    int bar = bars.decode(addr, len, memory);
    if (bar < 0) {
      refuse(
          String.format(
              "%s access at 0x%x size %d is outside every BAR (%s)",
              memory ? "memory" : "I/O", addr, len, bars.describe()));
      return;
    }
    long offset = bars.offset();
    if (cmd == MpqemuCommand.BAR_READ) {
      reply(function.barRead(bar, offset, len) & lengthMask(len));
    } else {
      function.barWrite(bar, offset, len, m.u64(BAR_VAL) & lengthMask(len));
      reply(0);
    }
  }

  private void deviceReset() throws IOException {
    if (!checkShape(0, 0)) {
      return;
    }
    resets++;
    function.reset();
    // The function dropped every old memory view with its reset, so retired mappings can go.
    sysmem.releaseRetired();
    bars.refresh(function);
    reply(0);
  }

  private static long lengthMask(int len) {
    return len == 8 ? -1L : (1L << (8 * len)) - 1;
  }

  @Override
  public void close() {
    channel.close();
    intx.close();
    sysmem.close();
    Posix.closeQuietly(stopFd);
  }
}
