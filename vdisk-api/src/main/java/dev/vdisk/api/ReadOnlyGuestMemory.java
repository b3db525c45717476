package dev.vdisk.api;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * The read side of a {@link GuestMemory}, as a separate object so that code handed a read-only view
 * cannot cast its way back to the writers. Every access goes through the same checks as the backing
 * memory; regions handed out are non-owning, read-only aliases.
 */
final class ReadOnlyGuestMemory implements ReadableGuestMemory {
  private final GuestMemory memory;
  private final MemoryRegion[] aliases;

  ReadOnlyGuestMemory(GuestMemory memory) {
    this.memory = memory;
    this.aliases = new MemoryRegion[memory.regionCount()];
    for (int i = 0; i < aliases.length; i++) {
      aliases[i] = memory.region(i).readOnlyAlias();
    }
  }

  @Override
  public int regionCount() {
    return aliases.length;
  }

  @Override
  public MemoryRegion region(int index) {
    return aliases[index];
  }

  @Override
  public int regionIndex(long gpa, long length) {
    return memory.regionIndex(gpa, length);
  }

  @Override
  public MemoryRegion regionFor(long gpa, long length) {
    memory.regionFor(gpa, length); // throws with the full description when unmapped
    return aliases[memory.regionIndex(gpa, length)];
  }

  @Override
  public MemorySlice slice(long gpa, int length) {
    MemorySlice s = memory.slice(gpa, length);
    return new MemorySlice(s.guestAddress(), s.store(), s.offset(), s.length(), false);
  }

  @Override
  public int u8(long gpa) {
    return memory.u8(gpa);
  }

  @Override
  public int u16(long gpa) {
    return memory.u16(gpa);
  }

  @Override
  public long u32(long gpa) {
    return memory.u32(gpa);
  }

  @Override
  public long u64(long gpa) {
    return memory.u64(gpa);
  }

  @Override
  public int lvU16(long gpa) {
    return memory.lvU16(gpa);
  }

  @Override
  public void read(long gpa, byte[] dst, int dstOffset, int length) {
    memory.read(gpa, dst, dstOffset, length);
  }

  @Override
  public void copyTo(long gpa, BytesStore<?, ?> dst, long dstOffset, long length) {
    memory.copyTo(gpa, dst, dstOffset, length);
  }

  @Override
  public String describeRanges() {
    return memory.describeRanges();
  }

  @Override
  public String toString() {
    return "ReadOnlyGuestMemory{" + describeRanges() + "}";
  }
}
