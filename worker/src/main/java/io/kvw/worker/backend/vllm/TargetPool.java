package io.kvw.worker.backend.vllm;

import dev.failsafe.CircuitBreaker;
import io.grpc.ManagedChannel;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vLLM replicas behind one backend, each with its own channels and its own circuit
 * breaker. Calls go round-robin over the targets whose breaker lets them through, so a dead
 * replica is skipped after a few refused connections while the others keep serving; only when
 * every breaker is open does a call fail at once, as UNAVAILABLE, without touching the network.
 *
 * <p>A breaker counts only UNAVAILABLE (the replica is not there): a request the replica
 * rejects or times out on says nothing about whether it is up.
 */
final class TargetPool {
  private static final Logger log = LoggerFactory.getLogger(TargetPool.class);

  /** One replica. */
  static final class Target {
    final String address;
    final List<ManagedChannel> channels;
    final List<VllmEngineGrpc.VllmEngineStub> stubs;
    final CircuitBreaker<Object> breaker;
    private final AtomicInteger next = new AtomicInteger();

    Target(String address, List<ManagedChannel> channels, int failureThreshold,
        Duration openFor) {
      this.address = address;
      this.channels = List.copyOf(channels);
      this.stubs = channels.stream().map(c -> VllmEngineGrpc.newStub(c)
          .withInterceptors(TraceContextInterceptor.INSTANCE)).toList();
      this.breaker = CircuitBreaker.builder()
          .withFailureThreshold(failureThreshold)
          .withDelay(openFor)
          .withSuccessThreshold(1)
          .onOpen(e -> log.warn("circuit to vLLM at {} opened: it refused {} calls in a row; "
              + "trying again in {} ms", address, failureThreshold, openFor.toMillis()))
          .onClose(e -> log.info("circuit to vLLM at {} closed: it answers again", address))
          .build();
    }

    VllmEngineGrpc.VllmEngineStub stub() {
      return stubs.get(Math.floorMod(next.getAndIncrement(), stubs.size()));
    }
  }

  private final List<Target> targets;
  private final AtomicInteger next = new AtomicInteger();

  TargetPool(List<Target> targets) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("at least one target");
    }
    this.targets = List.copyOf(targets);
  }

  /** The next target whose breaker grants a permit, or null when all are open. */
  Target acquire() {
    int start = next.getAndIncrement();
    for (int i = 0; i < targets.size(); i++) {
      Target t = targets.get(Math.floorMod(start + i, targets.size()));
      if (t.breaker.tryAcquirePermit()) {
        return t;
      }
    }
    return null;
  }

  /** Any target's stub, for calls that bypass the breakers (health, abort). */
  List<Target> all() {
    return targets;
  }
}
