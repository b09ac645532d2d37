package io.kvw.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What the client writes, the worker reads back as the same request: nothing is dropped. */
class RequestWriterTest {
  private final RequestCodec codec = new RequestCodec(RequestLimits.defaults());
  private final RecordSource source = new RecordSource("t", 0, 0);

  private InferenceRequest decode(String json) {
    Decoded d = codec.decode(json.getBytes(StandardCharsets.UTF_8), source, 0);
    assertThat(d).isInstanceOf(Decoded.Accepted.class);
    return ((Decoded.Accepted) d).request();
  }

  @Test
  void everyFieldSurvivesTheRoundTrip() {
    InferenceRequest original = decode("""
        {"id": "r-1", "model": "m",
         "messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": [{"type": "text", "text": "Hé 你好"}]},
                      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1",
                        "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                      {"role": "tool", "content": "42", "tool_call_id": "c1"}],
         "chat_template_kwargs": {"enable_thinking": false},
         "tools": [{"type": "function", "function": {"name": "f"}}],
         "documents": [{"title": "t", "text": "d"}],
         "params": {"max_tokens": 8, "temperature": 0.0, "top_p": 0.9, "top_k": 5,
                    "min_p": 0.1, "stop": ["x"], "seed": 7, "n": 2, "presence_penalty": 0.5,
                    "frequency_penalty": 0.25, "repetition_penalty": 1.1, "ignore_eos": true,
                    "logprobs": 2, "prompt_logprobs": 1, "stop_token_ids": [3, 4],
                    "min_tokens": 1, "logit_bias": {"5": -1.5},
                    "include_stop_str_in_output": true, "truncate_prompt_tokens": 100,
                    "skip_special_tokens": false, "grammar": "root ::= \\"a\\""},
         "deadline": "2030-01-01T00:00:00Z", "stream": true, "metadata": {"tenant": "acme"}}
        """);
    InferenceRequest again = decode(new String(new RequestWriter().encode(original),
        StandardCharsets.UTF_8));
    assertThat(again).isEqualTo(original);
  }
}
