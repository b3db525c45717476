package dev.vdisk.qemu;

import dev.vdisk.api.GuestMemory;

/**
 * One PCI function as QEMU's proxy drives it: every config-space and BAR access of the guest,
 * system reset, and the guest-RAM map. All calls come from the one thread serving the proxy socket,
 * except that an implementation may raise its {@link IntxLine} from any thread.
 *
 * <p>Implementations never throw for guest mistakes (a bad register offset reads as the PCI
 * convention says); the server still catches anything thrown and answers all-ones.
 */
public interface ProxiedFunction {

  /** Conventional PCI config space: the proxy forwards offsets 0..0xff. */
  int CONFIG_SPACE_SIZE = 256;

  /** Standard BARs 0..5. */
  int BAR_COUNT = 6;

  /** Reads {@code size} (1, 2 or 4) bytes of config space at {@code offset}, zero-extended. */
  long configRead(int offset, int size);

  /** Writes config space (BAR sizing and placement, command register, capabilities). */
  void configWrite(int offset, int size, long value);

  /**
   * Guest-physical base (memory) or port (I/O) the guest programmed into BAR {@code bar}, with the
   * type bits masked off; 0 when unprogrammed. For a 64-bit BAR the lower index reports the whole
   * base and the upper index reports size 0.
   */
  long barBase(int bar);

  /** Size in bytes of BAR {@code bar}, 0 when the BAR is not implemented. */
  long barSize(int bar);

  /** True for an I/O-space BAR. */
  boolean barIsIo(int bar);

  /** Reads {@code size} (1, 2, 4 or 8) bytes at {@code offset} inside BAR {@code bar}. */
  long barRead(int bar, long offset, int size);

  /** Writes {@code size} (1, 2, 4 or 8) bytes at {@code offset} inside BAR {@code bar}. */
  void barWrite(int bar, long offset, int size, long value);

  /** System reset (the proxy's DEVICE_RESET): back to power-on state. */
  void reset();

  /**
   * The guest-RAM map changed (each SYNC_SYSMEM replaces it). The function uses the newest map for
   * everything it does from now on.
   */
  void memoryChanged(GuestMemory memory);
}
