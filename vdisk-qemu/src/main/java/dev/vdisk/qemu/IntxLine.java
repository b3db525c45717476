package dev.vdisk.qemu;

/** The function's INTA# pin. Callable from any thread; must not block. */
@FunctionalInterface
public interface IntxLine {
  void setLevel(boolean asserted);
}
