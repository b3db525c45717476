package dev.vdisk.cli;

import sun.misc.Signal;

/**
 * Turns SIGINT and SIGTERM into an orderly stop, so {@code vdisk serve} can flush its disk and exit
 * 0 (a JVM killed by a signal exits 130/143 and runs only shutdown hooks). A second signal while
 * stopping forces exit 1, for when a flush hangs on a dead disk.
 */
final class SignalTrap {
  private SignalTrap() {}

  static void install(Runnable onStop) {
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        Signal.handle(
            new Signal(name),
            sig -> {
              if (ServeCommand.SIGNALS.incrementAndGet() > 1) {
                System.err.println("vdisk serve: second signal, exiting without a clean stop");
                Runtime.getRuntime().halt(1);
              }
              onStop.run();
            });
      } catch (IllegalArgumentException e) {
        // The JVM reserves the signal (e.g. -Xrs): the default handling stays.
      }
    }
  }
}
