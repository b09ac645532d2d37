package io.kvw.worker.backend.vllm;

import dev.failsafe.CircuitBreaker;
import io.grpc.ManagedChannel;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
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
 *
 * <p>The set of targets can change at run time ({@link #update}, driven by
 * {@link TargetDiscovery}): a new address gets its own channels and breaker; an address that
 * left is taken out of the choice at once and its channels are shut down gracefully by
 * {@link #retire}, which lets the calls already on them finish.
 */
public final class TargetPool implements AutoCloseable {
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

  private final Function<String, List<ManagedChannel>> channelsFor;
  private final int failureThreshold;
  private final Duration openFor;
  /** Replaced whole on every change, so a reader always sees one consistent set. */
  private volatile List<Target> targets;
  /** Targets that left, whose channels still drain; closed for good by {@link #close}. */
  private final List<Target> retired = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> closeFirst = new CopyOnWriteArrayList<>();
  private final AtomicInteger next = new AtomicInteger();

  /**
   * @param initial the first targets' open channels, by {@code host:port}; the pool owns them
   * @param channelsFor opens the channels of an address that joins later
   */
  public TargetPool(Map<String, List<ManagedChannel>> initial,
      Function<String, List<ManagedChannel>> channelsFor, int failureThreshold,
      Duration openFor) {
    if (initial.isEmpty()) {
      throw new IllegalArgumentException("at least one target");
    }
    this.channelsFor = channelsFor;
    this.failureThreshold = failureThreshold;
    this.openFor = openFor;
    this.targets = initial.entrySet().stream()
        .map(e -> new Target(e.getKey(), e.getValue(), failureThreshold, openFor)).toList();
  }

  /** The next target whose breaker grants a permit, or null when all are open. */
  Target acquire() {
    List<Target> now = targets;
    int start = next.getAndIncrement();
    for (int i = 0; i < now.size(); i++) {
      Target t = now.get(Math.floorMod(start + i, now.size()));
      if (t.breaker.tryAcquirePermit()) {
        return t;
      }
    }
    return null;
  }

  /** Every current target, for calls that bypass the breakers (health, abort, load). */
  List<Target> all() {
    return targets;
  }

  /** The current targets' addresses, in the order they joined. */
  public List<String> addresses() {
    return targets.stream().map(t -> t.address).toList();
  }

  /**
   * Makes the pool serve exactly {@code addresses}: opens channels to the new ones and takes
   * the ones that left out of the choice. An empty set changes nothing (a name with no
   * replicas for a moment must not leave the worker with nowhere to send), so the pool is
   * never empty.
   *
   * @return the targets that left; hand them to {@link #retire} once calls that may have just
   *     picked them have started
   */
  synchronized List<Target> update(Collection<String> addresses) {
    Set<String> wanted = new LinkedHashSet<>(addresses);
    if (wanted.isEmpty()) {
      return List.of();
    }
    Map<String, Target> kept = new LinkedHashMap<>();
    List<Target> left = new ArrayList<>();
    for (Target t : targets) {
      if (wanted.contains(t.address)) {
        kept.put(t.address, t);
      } else {
        left.add(t);
      }
    }
    List<String> joined = wanted.stream().filter(a -> !kept.containsKey(a)).toList();
    if (joined.isEmpty() && left.isEmpty()) {
      return List.of();
    }
    List<Target> now = new ArrayList<>(kept.values());
    for (String address : joined) {
      now.add(new Target(address, channelsFor.apply(address), failureThreshold, openFor));
    }
    targets = List.copyOf(now);
    retired.removeIf(t -> t.channels.stream().allMatch(ManagedChannel::isTerminated));
    retired.addAll(left);
    log.info("vLLM targets now {} (joined {}, left {})", addresses(), joined,
        left.stream().map(t -> t.address).toList());
    return left;
  }

  /**
   * Shuts down the channels of targets that left: calls already on them run to the end, new
   * calls are refused (gRPC's orderly shutdown); the channels end when their calls have.
   */
  void retire(List<Target> left) {
    for (Target t : left) {
      t.channels.forEach(ManagedChannel::shutdown);
    }
  }

  /** Closed before the channels, e.g. the discovery that feeds {@link #update}. */
  void closeFirst(AutoCloseable resource) {
    closeFirst.add(resource);
  }

  /** Stops discovery, then closes every channel, waiting up to 2 s for each. */
  @Override
  public void close() {
    for (AutoCloseable c : closeFirst) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", c, e.toString());
      }
    }
    List<ManagedChannel> channels = new ArrayList<>();
    for (Target t : targets) {
      channels.addAll(t.channels);
    }
    for (Target t : retired) {
      channels.addAll(t.channels);
    }
    channels.forEach(ManagedChannel::shutdown);
    for (ManagedChannel c : channels) {
      try {
        if (!c.awaitTermination(2, TimeUnit.SECONDS)) {
          c.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        c.shutdownNow();
      }
    }
  }
}
