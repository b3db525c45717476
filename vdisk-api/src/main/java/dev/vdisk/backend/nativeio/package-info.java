/**
 * Everything in vdisk-api that reaches native code through JNA: Linux file calls (fallocate, lseek
 * SEEK_DATA/SEEK_HOLE, writeback control), a kept copy of JNA's own native library, and direct
 * {@link java.nio.ByteBuffer} views over off-heap memory. Nothing outside this package names JNA,
 * and nothing here runs per request except re-pointing a view.
 */
package dev.vdisk.backend.nativeio;
