package io.kvw.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.kvw.proto.vllm.VllmEngineOuterClass;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Our .proto files carry upstream's protocol exactly: every message, field (number, type,
 * label, oneof), enum value and RPC of vllm_engine.proto and common.proto. The upstream side
 * is a table generated from upstream's files by {@code proto/tools/proto_table.py}; this side
 * is read from the descriptors protoc generated from ours, so neither can drift unnoticed.
 */
class ProtocolParityTest {
  /**
   * Upstream rows we carry under another name, same number and type (names are not on the
   * wire): protoc's Java output does not compile a field named {@code descriptor}.
   */
  private static final Map<String, String> RENAMED = Map.of(
      "field\tsmg.grpc.common.RemoteTensorHandle\tdescriptor\t2\tbytes\tsingular\t-",
      "field\tsmg.grpc.common.RemoteTensorHandle\tdescriptor_bytes\t2\tbytes\tsingular\t-");

  @Test
  void ourProtocolHasExactlyUpstreamsMessagesFieldsAndRpcs() throws IOException {
    TreeSet<String> ours = new TreeSet<>();
    FileDescriptor engine = VllmEngineOuterClass.getDescriptor();
    for (FileDescriptor file : List.of(engine, engine.getDependencies().get(0))) {
      file.getMessageTypes().forEach(m -> message(m, ours));
      file.getEnumTypes().forEach(e -> enumRows(e, ours));
      for (ServiceDescriptor s : file.getServices()) {
        for (MethodDescriptor m : s.getMethods()) {
          ours.add(String.join("\t", "rpc", s.getFullName(), m.getName(),
              m.getInputType().getFullName(), m.getOutputType().getFullName(),
              Boolean.toString(m.isClientStreaming()), Boolean.toString(m.isServerStreaming())));
        }
      }
    }
    TreeSet<String> upstream = new TreeSet<>();
    for (String row : upstreamTable()) {
      upstream.add(RENAMED.getOrDefault(row, row));
    }

    assertThat(upstream).as("the upstream table").hasSizeGreaterThan(200);
    assertThat(ours).as("in upstream but not in our .proto").containsAll(upstream);
    assertThat(upstream).as("in our .proto but not upstream").containsAll(ours);
  }

  private static void message(Descriptor m, TreeSet<String> rows) {
    if (m.getOptions().getMapEntry()) {
      return; // a map field's synthetic entry type: the field row says map<k,v>
    }
    rows.add("message\t" + m.getFullName());
    for (FieldDescriptor f : m.getFields()) {
      String label = f.isRepeated() ? "repeated"
          : f.toProto().getProto3Optional() ? "optional" : "singular";
      String oneof = f.getRealContainingOneof() == null ? "-"
          : f.getRealContainingOneof().getName();
      rows.add(String.join("\t", "field", m.getFullName(), f.getName(),
          Integer.toString(f.getNumber()), type(f), label, oneof));
    }
    m.getNestedTypes().forEach(n -> message(n, rows));
    m.getEnumTypes().forEach(e -> enumRows(e, rows));
  }

  private static String type(FieldDescriptor f) {
    if (f.isMapField()) {
      Descriptor entry = f.getMessageType();
      return "map<" + type(entry.findFieldByName("key")) + ","
          + type(entry.findFieldByName("value")) + ">";
    }
    return switch (f.getType()) {
      case MESSAGE, GROUP -> f.getMessageType().getFullName();
      case ENUM -> f.getEnumType().getFullName();
      default -> f.getType().name().toLowerCase();
    };
  }

  private static void enumRows(EnumDescriptor e, TreeSet<String> rows) {
    rows.add("enum\t" + e.getFullName());
    for (EnumValueDescriptor v : e.getValues()) {
      rows.add(String.join("\t", "value", e.getFullName(), v.getName(),
          Integer.toString(v.getNumber())));
    }
  }

  private static TreeSet<String> upstreamTable() throws IOException {
    TreeSet<String> rows = new TreeSet<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Objects.requireNonNull(
        ProtocolParityTest.class.getResourceAsStream("/upstream-proto-table.tsv")),
        StandardCharsets.UTF_8))) {
      in.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).forEach(rows::add);
    }
    return rows;
  }
}
