package io.kvw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.SamplingParams;
import io.kvw.proto.vllm.VllmEngineGrpc;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The baseline: the worker as the classic tutorial builds it. One consumer thread feeds a
 * bounded queue of 100 records; ten threads each take a record, make one blocking
 * {@code Generate} call with a 10 s deadline, decode and publish the result. Auto-commit.
 */
final class NaiveWorker implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final BlockingQueue<ConsumerRecord<byte[], byte[]>> queue =
      new ArrayBlockingQueue<>(100);
  private final List<Thread> threads = new ArrayList<>();
  private final ManagedChannel channel;
  private volatile boolean running = true;

  NaiveWorker(String bootstrap, String requests, String results, String target,
      Path tokenizer) throws Exception {
    channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    TokenDecoder decoder = TokenDecoder.load(tokenizer);
    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "naive-" + requests);
    c.put("auto.offset.reset", "earliest");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
        new ByteArraySerializer());
    threads.add(new Thread(() -> {
      consumer.subscribe(List.of(requests));
      while (running) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          try {
            while (running && !queue.offer(r, 100, TimeUnit.MILLISECONDS)) {
              // the queue is full: block, as the tutorial does
            }
          } catch (InterruptedException e) {
            return;
          }
        }
      }
      consumer.close();
    }, "naive-consumer"));
    VllmEngineGrpc.VllmEngineBlockingStub stub = VllmEngineGrpc.newBlockingStub(channel);
    for (int i = 0; i < 10; i++) {
      threads.add(new Thread(() -> {
        while (running) {
          try {
            ConsumerRecord<byte[], byte[]> r = queue.poll(100, TimeUnit.MILLISECONDS);
            if (r == null) {
              continue;
            }
            JsonNode req = JSON.readTree(r.value());
            Iterator<GenerateResponse> it = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                .generate(GenerateRequest.newBuilder().setRequestId(req.path("id").asText())
                    .setText(req.path("prompt").asText()).setSamplingParams(SamplingParams
                        .newBuilder().setMaxTokens(req.path("params").path("max_tokens")
                            .asInt(16))).build());
            String text = "";
            while (it.hasNext()) {
              GenerateResponse resp = it.next();
              if (resp.hasComplete()) {
                text = decoder.decode(resp.getComplete().getOutputIdsList().stream()
                    .mapToInt(Integer::intValue).toArray());
              }
            }
            byte[] out = JSON.writeValueAsBytes(JSON.createObjectNode()
                .put("id", req.path("id").asText()).put("text", text));
            producer.send(new ProducerRecord<>(results, r.key(), out));
          } catch (InterruptedException e) {
            return;
          } catch (Exception e) {
            // the tutorial logs and moves on: the record is lost
          }
        }
      }, "naive-caller-" + i));
    }
    threads.forEach(Thread::start);
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    for (Thread t : threads) {
      t.join(5_000);
    }
    channel.shutdownNow();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
