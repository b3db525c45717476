package dev.vdisk.virtio.queue;

/**
 * The device side of one virtqueue, independent of layout (split now, packed later) and of
 * transport. The device pops validated chains, returns them with {@link #addUsed} and lets the
 * queue decide whether the driver wants an interrupt.
 *
 * <h2>Threading</h2>
 *
 * <ul>
 *   <li>{@link #pop}, {@link #disableNotifications} and {@link #enableNotifications} are called by
 *       one thread at a time (the thread processing the queue).
 *   <li>{@link #addUsed} and {@link #notifyIfNeeded} are called by one thread at a time too, which
 *       may be a different one (asynchronous completions); the caller serialises them, e.g. with a
 *       per-queue completion lock.
 *   <li>Statistics accessors may be called from any thread.
 * </ul>
 *
 * <p>Nothing here throws on guest input: a chain that breaks a rule comes back as {@link
 * #POP_MALFORMED} (the caller must return its head with {@code addUsed(head, 0)}), a ring that is
 * corrupt as {@link #POP_BROKEN} after the queue signalled DEVICE_NEEDS_RESET.
 */
public interface Virtqueue {
  /** Nothing available. */
  int POP_EMPTY = 0;

  /** {@code chain} holds a valid chain; its head is in flight until {@link #addUsed}. */
  int POP_CHAIN = 1;

  /**
   * {@code chain} holds the head of a chain that broke a rule ({@link DescriptorChain#error()});
   * the head is in flight and the caller must return it with {@code addUsed(head, 0)} without
   * touching its buffers.
   */
  int POP_MALFORMED = 2;

  /** The ring is corrupt; the queue stopped and asked for a device reset. */
  int POP_BROKEN = 3;

  int index();

  int size();

  /** Takes the next available chain into {@code chain}; returns one of the POP_ codes. */
  int pop(DescriptorChain chain);

  /**
   * Puts {@code head} on the used ring with {@code len} bytes written and publishes the used index
   * (release). A head that is not in flight is ignored and counted (a device bug, never a guest
   * one).
   */
  void addUsed(int head, int len);

  /**
   * Decides, after a full fence, whether the driver wants to hear about the entries added since the
   * last decision (used_event with EVENT_IDX, else NO_INTERRUPT) and tells the notifier if so.
   * Returns true when it notified.
   */
  boolean notifyIfNeeded();

  /**
   * Tells the driver not to kick while the device is polling (NO_NOTIFY, or nothing with
   * EVENT_IDX).
   */
  void disableNotifications();

  /**
   * Asks the driver to kick for the next available entry (clears NO_NOTIFY or writes avail_event),
   * then re-reads avail.idx after a full fence. Returns true when entries are already available
   * (the caller must keep processing, or that work would wait for a kick that never comes).
   */
  boolean enableNotifications();

  /** True once a ring-level fault stopped the queue. */
  boolean isBroken();

  /** Index of the next available entry the device will consume (vhost-user GET_VRING_BASE). */
  int nextAvail();

  /** The last avail.idx the device read. */
  int lastAvailIdx();

  /** The used index the device published last. */
  int usedIdx();

  /** Chains popped and not yet returned. */
  int inFlight();

  /** Times the driver broke {@code error} on this queue. */
  long errorCount(QueueError error);

  long interruptsSent();

  long interruptsSuppressed();

  /** Used entries returned for heads that were not in flight (must stay 0: a device bug). */
  long usedNotInFlight();
}
