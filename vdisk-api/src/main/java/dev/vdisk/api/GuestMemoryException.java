package dev.vdisk.api;

/**
 * A guest-physical access that does not lie wholly inside one mapped region (or writes a read-only
 * one). The message names the address, the length and the ranges that are mapped, so that a log
 * line is enough to see what the guest (or the VMM) got wrong.
 */
public final class GuestMemoryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long address;
  private final long length;

  public GuestMemoryException(String message, long address, long length) {
    super(message);
    this.address = address;
    this.length = length;
  }

  /** The guest-physical address of the refused access. */
  public long address() {
    return address;
  }

  /** The length in bytes of the refused access. */
  public long length() {
    return length;
  }
}
