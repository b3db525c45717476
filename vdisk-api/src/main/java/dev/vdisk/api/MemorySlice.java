package dev.vdisk.api;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * A bounds-checked piece of one guest memory region: {@code length} bytes of {@code store} from
 * {@code offset}. Never crosses a region boundary. Immutable.
 */
public record MemorySlice(
    long guestAddress, BytesStore<?, ?> store, long offset, int length, boolean writable) {}
