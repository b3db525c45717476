package dev.vdisk.vhost;

import java.util.concurrent.atomic.LongAdder;

/** Counters of a vhost-user server over its lifetime (all connections). */
public final class VhostUserStats {
  final LongAdder connections = new LongAdder();
  final LongAdder protocolErrors = new LongAdder();
  final LongAdder messages = new LongAdder();
  final LongAdder kicks = new LongAdder();
  final LongAdder calls = new LongAdder();
  final LongAdder activations = new LongAdder();

  public long connections() {
    return connections.sum();
  }

  /** Connections closed because the front end broke the protocol. */
  public long protocolErrors() {
    return protocolErrors.sum();
  }

  public long messages() {
    return messages.sum();
  }

  /** Kick eventfd wake-ups (several guest notifications may coalesce into one). */
  public long kicks() {
    return kicks.sum();
  }

  /** Call eventfd signals (used-buffer notifications sent to the guest). */
  public long calls() {
    return calls.sum();
  }

  /** Times the device was started with a set of rings. */
  public long activations() {
    return activations.sum();
  }

  @Override
  public String toString() {
    return String.format(
        "connections %d (protocol errors %d), messages %d, kicks %d, calls %d, activations %d",
        connections(), protocolErrors(), messages(), kicks(), calls(), activations());
  }
}
