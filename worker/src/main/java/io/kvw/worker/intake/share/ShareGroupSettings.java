package io.kvw.worker.intake.share;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The share group's settings the worker depends on, read from the broker at start-up (Admin
 * {@code describeConfigs} on the GROUP resource): the acquisition lock duration, the delivery
 * limit, and whether locks may be renewed. A new group also gets its start position:
 * {@code share.auto.offset.reset} defaults to {@code latest} on the broker, which would skip
 * every request produced before the first worker started, so the worker sets the group to its
 * own {@code kafka.auto.offset.reset} unless someone already set it.
 */
public record ShareGroupSettings(Duration lockDuration, int deliveryLimit,
    boolean renewAllowed) {
  private static final Logger log = LoggerFactory.getLogger(ShareGroupSettings.class);

  static final String OFFSET_RESET = "share.auto.offset.reset";
  static final String LOCK_DURATION = "share.record.lock.duration.ms";
  static final String DELIVERY_LIMIT = "share.delivery.count.limit";
  static final String RENEW = "share.renew.acknowledge.enable";

  /**
   * Reads the settings of {@code group}, first setting its start position to
   * {@code offsetReset} (null: leave it) if the group has none of its own. Throws {@link IllegalStateException}
   * when the broker has no share groups (before Kafka 4.2, or the feature off).
   */
  public static ShareGroupSettings prepare(Admin admin, String group, String offsetReset,
      Duration timeout) {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
    try {
      Config config = describe(admin, resource, timeout);
      ConfigEntry reset = config.get(OFFSET_RESET);
      if (offsetReset != null && reset != null && reset.source() != ConfigEntry.ConfigSource.DYNAMIC_GROUP_CONFIG
          && !offsetReset.equals(reset.value())) {
        try {
          admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
              new ConfigEntry(OFFSET_RESET, offsetReset), AlterConfigOp.OpType.SET))))
              .all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
          log.info("share group {}: set {}={} (the broker's default is {})", group,
              OFFSET_RESET, offsetReset, reset.value());
        } catch (ExecutionException e) {
          // e.g. no ALTER_CONFIGS on the group: say what the operator has to set instead
          log.warn("share group {}: could not set {}={} ({}); set it with kafka-configs.sh "
              + "--entity-type groups, or records produced before the first start are "
              + "skipped", group, OFFSET_RESET, offsetReset, e.getCause().toString());
        }
      }
      return new ShareGroupSettings(Duration.ofMillis(Long.parseLong(value(config,
          LOCK_DURATION, "30000"))), Integer.parseInt(value(config, DELIVERY_LIMIT, "5")),
          Boolean.parseBoolean(value(config, RENEW, "false")));
    } catch (ExecutionException e) {
      throw new IllegalStateException("the broker did not describe share group " + group
          + " (" + e.getCause() + "); worker.intake=share needs Kafka 4.2 or later with share "
          + "groups enabled", e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the broker did not describe share group " + group
          + " within " + timeout.toSeconds() + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading share group " + group, e);
    }
  }

  private static Config describe(Admin admin, ConfigResource resource, Duration timeout)
      throws ExecutionException, TimeoutException, InterruptedException {
    return admin.describeConfigs(List.of(resource)).all()
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(resource);
  }

  private static String value(Config config, String name, String fallback) {
    ConfigEntry e = config.get(name);
    return e == null || e.value() == null ? fallback : e.value();
  }

  /**
   * Refuses a request timeout the lock cannot cover when the group does not allow renewal:
   * the lock would lapse while vLLM still works, and another replica would run the record too.
   * Returns the reason (to follow the key {@code vllm.request-timeout}), or null when the
   * settings fit.
   */
  public String misfit(Duration requestTimeout) {
    if (renewAllowed || requestTimeout.compareTo(lockDuration.dividedBy(2)) <= 0) {
      return null;
    }
    return requestTimeout.toMillis() + " ms is more than half the share group's "
        + LOCK_DURATION + " (" + lockDuration.toMillis() + " ms), and the group does not "
        + "allow lock renewal (" + RENEW + "=false): lower vllm.request-timeout or raise the "
        + "group's lock duration";
  }
}
