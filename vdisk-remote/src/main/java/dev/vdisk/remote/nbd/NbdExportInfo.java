package dev.vdisk.remote.nbd;

/**
 * What the handshake learned about an export.
 *
 * @param size export size in bytes
 * @param flags transmission flags
 * @param minBlock minimum block size (1 when the server gave none)
 * @param preferredBlock preferred block size
 * @param maxPayload largest READ/WRITE payload the client will send
 * @param structuredReplies structured replies were negotiated
 * @param allocationContext context id of base:allocation, or -1 when not negotiated
 */
public record NbdExportInfo(
    long size,
    int flags,
    int minBlock,
    int preferredBlock,
    int maxPayload,
    boolean structuredReplies,
    long allocationContext) {

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }
}
