package dev.vdisk.virtio.blk;

import static dev.vdisk.virtio.blk.BlkConfigLayout.RANGE_F_UNMAP;
import static dev.vdisk.virtio.blk.BlkConfigLayout.SECTOR_SHIFT;

import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.virtio.queue.DescriptorChain;
import dev.vdisk.virtio.queue.HostMemory;
import java.io.IOException;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Runs a validated request against a {@link BlockDevice} on the calling thread. Data moves directly
 * between the backend and the guest memory region's store (no copy in between); the answer of
 * GET_ID and GET_LIFETIME is copied from pre-encoded arrays. Returns the {@link BlkError} of a
 * failure or null.
 */
final class SyncExecutor {
  private final BlockDevice backend;
  private final BytesStore<?, ?>[] stores;
  private final byte[] serial;
  private final byte[] lifetime;
  private final boolean mayUnmap;

  SyncExecutor(BlkSettings settings, BytesStore<?, ?>[] stores) {
    this.backend = settings.backend;
    this.stores = stores;
    this.serial = settings.serial;
    this.lifetime = settings.lifetime == null ? new byte[6] : settings.lifetime;
    this.mayUnmap = settings.writeZeroesMayUnmap;
  }

  /** Executes {@code r}; returns null on success. Never throws. */
  BlkError execute(BlkRequest r, DescriptorChain c) {
    try {
      switch (r.op) {
        case BlkRequest.OP_READ:
          read(r, c);
          return null;
        case BlkRequest.OP_WRITE:
          write(r, c);
          if (r.flushAfterWrite) {
            backend.flush();
          }
          return null;
        case BlkRequest.OP_FLUSH:
          backend.flush();
          return null;
        case BlkRequest.OP_GET_ID:
          answer(r, c, serial);
          return null;
        case BlkRequest.OP_GET_LIFETIME:
          answer(r, c, lifetime);
          return null;
        case BlkRequest.OP_DISCARD:
        case BlkRequest.OP_WRITE_ZEROES:
        case BlkRequest.OP_SECURE_ERASE:
          ranges(r);
          return null;
        default:
          return BlkError.UNKNOWN_TYPE;
      }
    } catch (BlockDeviceException e) {
      return BlkError.fromBackend(e.reason());
    } catch (IOException e) {
      return BlkError.BACKEND_IO_ERROR;
    } catch (RuntimeException e) {
      return BlkError.BACKEND_BUG;
    }
  }

  private void read(BlkRequest r, DescriptorChain c) throws IOException {
    long offset = r.sector << SECTOR_SHIFT;
    int seg = r.dataSeg;
    if (r.dataOff == 0 && c.length(seg) == r.dataBytes) {
      // The usual layout: the data is exactly one segment. No piece walk.
      backend.read(offset, stores[c.regionIndex(seg)], c.storeOffset(seg), c.length(seg));
      return;
    }
    for (boolean more = r.firstPiece(c); more; more = r.nextPiece(c)) {
      backend.read(offset, stores[c.regionIndex(r.pieceSeg)], r.pieceStoreOffset(c), r.pieceLen);
      offset += r.pieceLen;
    }
  }

  private void write(BlkRequest r, DescriptorChain c) throws IOException {
    long offset = r.sector << SECTOR_SHIFT;
    int seg = r.dataSeg;
    if (r.dataOff == 0 && c.length(seg) == r.dataBytes) {
      backend.write(offset, stores[c.regionIndex(seg)], c.storeOffset(seg), c.length(seg));
      return;
    }
    for (boolean more = r.firstPiece(c); more; more = r.nextPiece(c)) {
      backend.write(offset, stores[c.regionIndex(r.pieceSeg)], r.pieceStoreOffset(c), r.pieceLen);
      offset += r.pieceLen;
    }
  }

  /** Copies a device answer (serial, lifetime) into the request's writable data. */
  static void answer(BlkRequest r, DescriptorChain c, byte[] src) {
    int done = 0;
    for (boolean more = r.firstPiece(c); more; more = r.nextPiece(c)) {
      HostMemory.copy(src, done, r.pieceHost(c), r.pieceLen);
      done += r.pieceLen;
    }
  }

  private void ranges(BlkRequest r) throws IOException {
    for (int i = 0; i < r.rangeCount; i++) {
      long offset = r.rangeSector[i] << SECTOR_SHIFT;
      long length = r.rangeSectors[i] << SECTOR_SHIFT;
      if (length == 0) {
        continue;
      }
      if (r.op == BlkRequest.OP_DISCARD) {
        backend.discard(offset, length);
      } else if (r.op == BlkRequest.OP_WRITE_ZEROES) {
        backend.writeZeroes(offset, length, mayUnmap && (r.rangeFlags[i] & RANGE_F_UNMAP) != 0);
      } else {
        backend.secureErase(offset, length);
      }
    }
  }
}
