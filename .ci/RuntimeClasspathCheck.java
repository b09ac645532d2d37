import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.common.Decoded;
import io.kvw.worker.backend.tokenizer.ChatTemplate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Renders a chat template with nothing but the worker's runtime classpath (worker.jar and
 * worker/target/lib): the tests run on the test classpath, which carries more (testkit's
 * broker), so a library the worker needs at run time but only the tests bring in shows here.
 * Run by .ci/run as {@code java -cp "worker/target/worker.jar:worker/target/lib/*" .ci/RuntimeClasspathCheck.java}.
 */
public class RuntimeClasspathCheck {
  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("kvw-runtime-check");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\", "
        + "\"chat_template\": \"{{ bos_token }}{% for m in messages %}[{{ m.role }}] "
        + "{{ m.content | trim }}\\n{% endfor %}{% if add_generation_prompt %}[assistant] "
        + "{% endif %}\"}");
    Decoded d = new RequestCodec(RequestLimits.defaults()).decode(
        "{\"messages\": [{\"role\": \"user\", \"content\": \" hi \"}]}"
            .getBytes(StandardCharsets.UTF_8), new RecordSource("t", 0, 0), 0);
    String text = ChatTemplate.load(dir).orElseThrow()
        .render(((Decoded.Accepted) d).request());
    if (!text.equals("<s>[user] hi\n[assistant] ")) {
      throw new AssertionError("unexpected rendering: " + text);
    }
    System.out.println("runtime classpath renders chat templates: ok");
  }
}
