package dev.vdisk.backend;

import dev.vdisk.api.BlockCapabilities;
import dev.vdisk.api.BlockDevice;
import dev.vdisk.api.BlockDeviceException;
import dev.vdisk.api.BlockDeviceException.Reason;
import dev.vdisk.api.BootSectorGeometry;
import dev.vdisk.api.Geometry;
import dev.vdisk.backend.nativeio.DirectBuffers;
import dev.vdisk.backend.nativeio.LinuxFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.core.Jvm;

/**
 * A disk backed by a raw image file (or a block device node).
 *
 * <p>Data moves with positional {@link FileChannel} reads and writes straight into and out of the
 * caller's off-heap memory, through a direct-buffer view ({@link DirectBuffers}), so there is no
 * heap copy. Positional I/O takes no lock, so queues on different threads run in parallel. {@code
 * flush} is {@code force(false)} (fdatasync: data plus the metadata needed to read it back).
 *
 * <p>On 64-bit Linux the image is also opened natively: discard and write-zeroes with unmap punch
 * holes ({@code fallocate(PUNCH_HOLE|KEEP_SIZE)}), write-zeroes without unmap uses {@code
 * ZERO_RANGE}, and {@link #extent} answers from {@code lseek(SEEK_DATA/SEEK_HOLE)} so sparse images
 * report their holes. Where those calls are missing or the file system refuses them, the range is
 * written with zeroes instead and {@code extent} reports everything as data. The native descriptor
 * is opened first and the channel is opened on {@code /proc/self/fd/N}, so both are guaranteed to
 * name the same file even if the path is renamed in between.
 *
 * <p>The channel is made uninterruptible (when the JVM allows): a queue thread being interrupted
 * must not close the image for every other queue, which is what an interruptible {@code
 * FileChannel} does.
 */
public final class FileDisk implements BlockDevice {
  /** Largest range one zero-writing loop covers; bounds the time one request holds a thread. */
  private static final long MAX_ZERO_WRITE_BYTES = 1L << 30;

  private static final int ZERO_CHUNK = 1 << 20;

  /** Never written: the source of zero-filling writes. */
  private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK);

  private static final long ZEROES_ADDRESS = DirectBuffers.address(ZEROES);

  private final Path path;
  private final FileChannel channel;
  private final int fd; // -1 when native calls are unavailable
  private final long size;
  private final int blockSize;
  private final boolean readOnly;
  private final BlockCapabilities capabilities;
  private final Geometry geometry;
  // Native calls use the descriptor number; close must not free it while one runs (the number
  // could be reused by an unrelated open and a punch would hit that file).
  private final ReentrantReadWriteLock nativeLock = new ReentrantReadWriteLock();
  private volatile boolean holePunching;
  private volatile boolean zeroRange;
  private volatile boolean closed;

  private FileDisk(
      Path path,
      FileChannel channel,
      int fd,
      long size,
      int blockSize,
      boolean ro,
      Geometry geometry) {
    this.path = path;
    this.channel = channel;
    this.fd = fd;
    this.size = size;
    this.blockSize = blockSize;
    this.readOnly = ro;
    this.holePunching = fd >= 0;
    this.zeroRange = fd >= 0;
    BlockCapabilities rw =
        new BlockCapabilities(
            true, true, true, fd >= 0, false, fd >= 0 ? 1L << 40 : MAX_ZERO_WRITE_BYTES, blockSize);
    this.capabilities = ro ? rw.readOnly() : rw;
    this.geometry = geometry;
  }

  /** Opens an existing image with 512-byte blocks. */
  public static FileDisk open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly, 512);
  }

  /**
   * Opens an existing image. Its size must be a positive multiple of {@code blockSize} (512, 2048
   * or 4096); otherwise this throws {@link IllegalArgumentException} naming the size.
   */
  public static FileDisk open(Path path, boolean readOnly, int blockSize) throws IOException {
    checkBlockSize(blockSize);
    if (!Files.exists(path)) {
      throw new java.nio.file.NoSuchFileException(path.toString(), null, "no such disk image");
    }
    int fd = -1;
    FileChannel channel = null;
    try {
      if (LinuxFiles.isAvailable()) {
        fd = LinuxFiles.open(path, !readOnly);
        channel = openChannel(Path.of("/proc/self/fd/" + fd), readOnly);
      } else {
        channel = openChannel(path, readOnly);
      }
      long size = fd >= 0 ? LinuxFiles.size(fd) : channel.size();
      if (size <= 0 || size % blockSize != 0) {
        throw new IllegalArgumentException(
            "disk image "
                + path
                + " is "
                + size
                + " bytes (expected a positive multiple of the block size "
                + blockSize
                + ")");
      }
      return new FileDisk(
          path, channel, fd, size, blockSize, readOnly, probeGeometry(channel, size, blockSize));
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel, fd, e);
      throw e;
    }
  }

  /**
   * Creates a new sparse image of {@code size} bytes (no data blocks are allocated) and opens it
   * for writing. Fails with {@link java.nio.file.FileAlreadyExistsException} rather than overwrite
   * an existing file.
   */
  public static FileDisk create(Path path, long size, int blockSize) throws IOException {
    checkBlockSize(blockSize);
    if (size <= 0 || size % blockSize != 0) {
      throw new IllegalArgumentException(
          "new image size "
              + size
              + " (expected a positive multiple of the block size "
              + blockSize
              + ")");
    }
    Files.createFile(path);
    try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
      f.setLength(size); // ftruncate: extends with a hole
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(path);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return open(path, false, blockSize);
  }

  /** Floppy size, FAT BPB or MBR clues in the first sector, else the hard-disk rule. */
  private static Geometry probeGeometry(FileChannel channel, long size, int blockSize)
      throws IOException {
    if (blockSize == 2048) {
      return Geometry.forCdrom(size);
    }
    ByteBuffer first = ByteBuffer.allocate(BootSectorGeometry.SECTOR_SIZE);
    while (first.hasRemaining() && channel.read(first, first.position()) > 0) {
      // positional reads until the sector is full or the image ends
    }
    return Geometry.forImage(size, blockSize, first.hasRemaining() ? null : first.array());
  }

  private static FileChannel openChannel(Path p, boolean readOnly) throws IOException {
    FileChannel ch =
        readOnly
            ? FileChannel.open(p, StandardOpenOption.READ)
            : FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    Jvm.doNotCloseOnInterrupt(FileDisk.class, ch);
    return ch;
  }

  private static void checkBlockSize(int blockSize) {
    if (blockSize != 512 && blockSize != 2048 && blockSize != 4096) {
      throw new IllegalArgumentException(
          "block size " + blockSize + " (expected 512, 2048 or 4096)");
    }
  }

  private static void closeQuietly(FileChannel channel, int fd, Exception primary) {
    try {
      if (channel != null) {
        channel.close();
      }
      if (fd >= 0) {
        LinuxFiles.close(fd);
      }
    } catch (IOException e) {
      primary.addSuppressed(e);
    }
  }

  /** The image's path as given at open. */
  public Path path() {
    return path;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public BlockCapabilities capabilities() {
    return capabilities;
  }

  @Override
  public Geometry geometry() {
    return geometry;
  }

  @Override
  public void read(long offset, BytesStore<?, ?> dst, long dstOffset, int length)
      throws BlockDeviceException {
    Ranges.checkDisk(offset, length, size);
    long address = Ranges.storeAddress(dst, dstOffset, length, offset);
    ByteBuffer view = DirectBuffers.view(address, length);
    long pos = offset;
    try {
      while (view.hasRemaining()) {
        int n = channel.read(view, pos);
        if (n < 0) {
          throw new BlockDeviceException(
              Reason.IO_ERROR,
              "image " + path + " ended at " + pos + " (did it shrink under the disk?)",
              offset,
              length);
        }
        pos += n;
      }
    } catch (BlockDeviceException e) {
      throw e;
    } catch (IOException e) {
      throw ioError("read", offset, length, e);
    }
  }

  @Override
  public void write(long offset, BytesStore<?, ?> src, long srcOffset, int length)
      throws BlockDeviceException {
    checkWritable(offset, length);
    Ranges.checkDisk(offset, length, size);
    long address = Ranges.storeAddress(src, srcOffset, length, offset);
    writeFrom(address, offset, length);
  }

  private void writeFrom(long address, long offset, int length) throws BlockDeviceException {
    ByteBuffer view = DirectBuffers.view(address, length);
    long pos = offset;
    try {
      while (view.hasRemaining()) {
        pos += channel.write(view, pos);
      }
    } catch (IOException e) {
      throw ioError("write", offset, length, e);
    }
  }

  @Override
  public void flush() throws BlockDeviceException {
    if (readOnly) {
      checkOpen(0, 0);
      return;
    }
    try {
      channel.force(false);
    } catch (IOException e) {
      throw ioError("flush", 0, 0, e);
    }
  }

  @Override
  public void discard(long offset, long length) throws BlockDeviceException {
    zero(offset, length, true);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws BlockDeviceException {
    zero(offset, length, mayUnmap);
  }

  /** Makes the range read as zeroes: punch (unmap) or zero-range natively, else write zeroes. */
  private void zero(long offset, long length, boolean unmap) throws BlockDeviceException {
    checkWritable(offset, length);
    Ranges.checkDisk(offset, length, size);
    if (length == 0) {
      checkOpen(offset, length);
      return;
    }
    if (unmap && holePunching) {
      if (nativeZero(
          offset, length, LinuxFiles.FALLOC_FL_PUNCH_HOLE | LinuxFiles.FALLOC_FL_KEEP_SIZE)) {
        return;
      }
      holePunching = false;
    }
    if (zeroRange) {
      if (nativeZero(
          offset, length, LinuxFiles.FALLOC_FL_ZERO_RANGE | LinuxFiles.FALLOC_FL_KEEP_SIZE)) {
        return;
      }
      zeroRange = false;
    }
    if (length > capabilities.maxDiscardBytes()) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "zeroing more than "
              + capabilities.maxDiscardBytes()
              + " bytes at once on a file system without fallocate",
          offset,
          length);
    }
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(ZERO_CHUNK, length - done);
      writeFrom(ZEROES_ADDRESS, offset + done, n);
      done += n;
    }
  }

  /**
   * True when {@link #startWriteback} and {@link #dropWritten} act (native calls available and the
   * image writable); otherwise they do nothing.
   */
  public boolean controlsWriteback() {
    return fd >= 0 && !readOnly;
  }

  /**
   * Starts writing the range's dirty pages to the disk without waiting ({@code sync_file_range}
   * WRITE). For a writer that streams through the image once, such as a disk copy: the kernel
   * otherwise lets a whole copy pile up as dirty pages and writes it back later in a burst. Not a
   * flush: nothing is durable until {@link #flush()}.
   */
  public void startWriteback(long offset, long length) throws BlockDeviceException {
    writeback(offset, length, false);
  }

  /**
   * Waits until the range's pages are written back and drops them from the page cache ({@code
   * sync_file_range} WAIT_BEFORE|WRITE|WAIT_AFTER, then {@code posix_fadvise} DONTNEED), for a
   * streaming writer that will not read them again. A copy that keeps its last few chunks in flight
   * this way reuses the same pages instead of filling memory with a cache of the whole image (the
   * same page-cache hygiene as nbdcopy's file destinations). Not a flush.
   */
  public void dropWritten(long offset, long length) throws BlockDeviceException {
    writeback(offset, length, true);
  }

  private void writeback(long offset, long length, boolean dropAfter) throws BlockDeviceException {
    Ranges.checkDisk(offset, length, size);
    if (!controlsWriteback() || length == 0) {
      return; // (a length of 0 would mean "to the end of the file" to sync_file_range)
    }
    nativeLock.readLock().lock();
    try {
      checkOpen(offset, length);
      if (dropAfter) {
        LinuxFiles.syncFileRange(
            fd,
            offset,
            length,
            LinuxFiles.SYNC_FILE_RANGE_WAIT_BEFORE
                | LinuxFiles.SYNC_FILE_RANGE_WRITE
                | LinuxFiles.SYNC_FILE_RANGE_WAIT_AFTER);
        LinuxFiles.dropFromPageCache(fd, offset, length);
      } else {
        LinuxFiles.syncFileRange(fd, offset, length, LinuxFiles.SYNC_FILE_RANGE_WRITE);
      }
    } catch (IOException e) {
      throw ioError(dropAfter ? "drop written pages" : "start writeback", offset, length, e);
    } finally {
      nativeLock.readLock().unlock();
    }
  }

  /** One fallocate call under the native lock; false when the file system lacks the mode. */
  private boolean nativeZero(long offset, long length, int mode) throws BlockDeviceException {
    nativeLock.readLock().lock();
    try {
      checkOpen(offset, length);
      return LinuxFiles.fallocate(fd, mode, offset, length);
    } catch (BlockDeviceException e) {
      throw e;
    } catch (IOException e) {
      throw ioError("fallocate", offset, length, e);
    } finally {
      nativeLock.readLock().unlock();
    }
  }

  /**
   * Data/hole run at {@code offset}: positive for data, negative for a hole. Runs are cut to block
   * boundaries; a run shorter than one block is reported as one block of data (data is always a
   * safe answer).
   */
  @Override
  public long extent(long offset, long maxLength) throws BlockDeviceException {
    if (offset < 0 || offset >= size || maxLength <= 0) {
      throw new BlockDeviceException(
          Reason.OUT_OF_RANGE,
          "extent query outside the disk of " + size + " bytes",
          offset,
          maxLength);
    }
    long end = offset + Math.min(maxLength, size - offset);
    if (fd < 0) {
      checkOpen(offset, maxLength);
      return end - offset;
    }
    nativeLock.readLock().lock();
    try {
      checkOpen(offset, maxLength);
      long data = LinuxFiles.seekData(fd, offset);
      boolean isData = data == offset;
      long boundary;
      if (data < 0) {
        boundary = end; // nothing but hole to the end of the file
      } else if (isData) {
        boundary = LinuxFiles.seekHole(fd, offset);
      } else {
        boundary = data;
      }
      long run = Math.min(boundary, end) - offset;
      run -= run % blockSize;
      if (run <= 0) {
        return Math.min(blockSize, end - offset);
      }
      return isData ? run : -run;
    } catch (BlockDeviceException e) {
      throw e;
    } catch (IOException e) {
      throw ioError("extent", offset, maxLength, e);
    } finally {
      nativeLock.readLock().unlock();
    }
  }

  private void checkWritable(long offset, long length) throws BlockDeviceException {
    if (readOnly) {
      throw new BlockDeviceException(
          Reason.READ_ONLY, "image " + path + " is open read-only", offset, length);
    }
  }

  private void checkOpen(long offset, long length) throws BlockDeviceException {
    if (closed) {
      throw new BlockDeviceException(
          Reason.IO_ERROR, "image " + path + " is closed", offset, length);
    }
  }

  private BlockDeviceException ioError(String op, long offset, long length, IOException e) {
    String why = closed ? "image is closed" : e.toString();
    return new BlockDeviceException(
        Reason.IO_ERROR, op + " on " + path + " failed: " + why, offset, length, e);
  }

  @Override
  public void close() throws IOException {
    nativeLock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      IOException first = null;
      try {
        channel.close();
      } catch (IOException e) {
        first = e;
      }
      if (fd >= 0) {
        try {
          LinuxFiles.close(fd);
        } catch (IOException e) {
          if (first == null) {
            first = e;
          } else {
            first.addSuppressed(e);
          }
        }
      }
      if (first != null) {
        throw first;
      }
    } finally {
      nativeLock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "FileDisk{"
        + path
        + ", "
        + size
        + " bytes, block "
        + blockSize
        + (readOnly ? ", read-only" : "")
        + "}";
  }
}
