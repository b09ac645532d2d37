package io.kvw.worker.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class TenantLabelsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ObjectNode metadata(String tenant) {
    return JSON.createObjectNode().put("tenant", tenant);
  }

  @Test
  void theFirstTenantsKeepTheirNamesTheRestAreOther() {
    TenantLabels labels = new TenantLabels("tenant", 2);
    assertThat(labels.of(metadata("acme"))).isEqualTo("acme");
    assertThat(labels.of(metadata("globex"))).isEqualTo("globex");
    assertThat(labels.of(metadata("initech"))).isEqualTo(TenantLabels.OTHER);
    assertThat(labels.of(metadata("acme"))).isEqualTo("acme");
    assertThat(labels.of(JSON.createObjectNode())).isEqualTo(TenantLabels.NONE);
    assertThat(labels.of(null)).isEqualTo(TenantLabels.NONE);
  }

  @Test
  void withoutAFieldEveryRequestIsNone() {
    assertThat(new TenantLabels("", 10).of(metadata("acme"))).isEqualTo(TenantLabels.NONE);
  }
}
