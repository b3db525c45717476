package dev.vdisk.virtio.blk;

import dev.vdisk.api.BlockDevice;
import java.util.concurrent.Executor;

/**
 * The validated, immutable configuration of one virtio-blk device ({@link VirtioBlkDevice.Builder}
 * makes it). Limits in sectors are 512-byte units, as in the config space.
 */
final class BlkSettings {
  final BlockDevice backend;
  final Profile profile;
  final int queues;
  final int queueSize;
  final byte[] serial;
  final int segMax;
  final int sizeMax;
  final boolean enforceSegmentLimits;
  final int blockSize;

  final long maxDiscardSectors;
  final int maxDiscardSeg;
  final int discardAlignmentSectors;
  final long maxWriteZeroesSectors;
  final int maxWriteZeroesSeg;
  final boolean writeZeroesMayUnmap;
  final long maxSecureEraseSectors;
  final int maxSecureEraseSeg;
  final int secureEraseAlignmentSectors;

  final int geometryCylinders;
  final int geometryHeads;
  final int geometrySectors;

  final boolean writebackDefault;
  final byte[] lifetime;
  final boolean async;
  final int notifyBudget;
  final Executor continuationExecutor;
  final long resetDrainNanos;
  final int maxChainDescriptors;
  final boolean reportUsedLen;
  final long offeredFeatures;

  BlkSettings(VirtioBlkDevice.Builder b, long offeredFeatures) {
    this.backend = b.backend;
    this.profile = b.profile;
    this.queues = b.resolvedQueues;
    this.queueSize = b.resolvedQueueSize;
    this.serial = b.resolvedSerial;
    this.segMax = b.resolvedSegMax;
    this.sizeMax = b.resolvedSizeMax;
    this.enforceSegmentLimits = b.resolvedEnforceLimits;
    this.blockSize = b.backend.blockSize();
    this.maxDiscardSectors = b.resolvedMaxDiscardSectors;
    this.maxDiscardSeg = b.resolvedMaxDiscardSeg;
    this.discardAlignmentSectors = b.resolvedDiscardAlignment;
    this.maxWriteZeroesSectors = b.resolvedMaxDiscardSectors;
    this.maxWriteZeroesSeg = b.resolvedMaxWriteZeroesSeg;
    this.writeZeroesMayUnmap = b.backend.capabilities().writeZeroesMayUnmap();
    this.maxSecureEraseSectors = b.resolvedMaxDiscardSectors;
    this.maxSecureEraseSeg = b.resolvedMaxSecureEraseSeg;
    this.secureEraseAlignmentSectors = b.resolvedDiscardAlignment;
    this.geometryCylinders = b.resolvedCylinders;
    this.geometryHeads = b.resolvedHeads;
    this.geometrySectors = b.resolvedSectors;
    this.writebackDefault = b.resolvedWriteback;
    this.lifetime = b.lifetime;
    this.async = b.resolvedAsync;
    this.notifyBudget = b.notifyBudget;
    this.continuationExecutor = b.continuationExecutor;
    this.resetDrainNanos = b.resetDrainTimeout.toNanos();
    this.maxChainDescriptors = b.resolvedMaxChain;
    this.reportUsedLen = b.profile != Profile.AERO;
    this.offeredFeatures = offeredFeatures;
  }

  boolean offers(int feature) {
    return (offeredFeatures & (1L << feature)) != 0;
  }

  /** Largest range list any request type may carry (sizes the per-queue copy). */
  int maxRanges() {
    return Math.max(1, Math.max(maxDiscardSeg, Math.max(maxWriteZeroesSeg, maxSecureEraseSeg)));
  }
}
