package io.kvw.worker.observe;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code tenant} label of per-request metrics: the value of one field of the request's
 * {@code metadata}, with a cap on distinct values so a client cannot blow up the number of
 * time series. The first {@code max} values seen keep their names; later ones are
 * {@code other}. Without a configured field, or a request without it, the label is
 * {@code none}.
 */
public final class TenantLabels {
  public static final String NONE = "none";
  public static final String OTHER = "other";
  private static final int MAX_LENGTH = 64;

  private final String field; // null: no tenant label values
  private final int max;
  private final Set<String> seen = ConcurrentHashMap.newKeySet();

  /**
   * @param field the metadata field naming the tenant; empty for none
   * @param max the most distinct tenant values exported
   */
  public TenantLabels(String field, int max) {
    this.field = field == null || field.isEmpty() ? null : field;
    this.max = max;
  }

  /** The tenant label of a request with this metadata (may be null). */
  public String of(JsonNode metadata) {
    if (field == null || metadata == null) {
      return NONE;
    }
    JsonNode v = metadata.get(field);
    if (v == null || v.isNull() || v.isContainerNode()) {
      return NONE;
    }
    String tenant = v.asText();
    if (tenant.isEmpty() || tenant.length() > MAX_LENGTH) {
      return OTHER;
    }
    if (seen.contains(tenant)) {
      return tenant;
    }
    synchronized (seen) { // the cap holds exactly, even when new tenants arrive at once
      if (seen.size() < max) {
        seen.add(tenant);
        return tenant;
      }
    }
    return OTHER;
  }
}
