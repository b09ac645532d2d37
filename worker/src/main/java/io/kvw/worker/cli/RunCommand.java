package io.kvw.worker.cli;

import io.kvw.worker.StartupException;
import io.kvw.worker.Worker;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.ConfigException;
import io.kvw.worker.config.WorkerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import sun.misc.Signal;
import picocli.CommandLine.Option;

/** Runs the worker until SIGTERM, then drains and exits 0. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Run the worker until SIGTERM, then drain and exit 0.")
final class RunCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

  @Option(names = "--config", required = true, paramLabel = "FILE",
      description = "Java properties file; every key can be overridden with KVW_* variables.")
  Path config;

  @Override
  public Integer call() throws Exception {
    WorkerConfig cfg;
    try {
      cfg = WorkerConfig.load(config, System.getenv());
    } catch (ConfigException e) {
      System.err.println("config error: " + e.getMessage());
      return Main.EXIT_CONFIG;
    }
    Worker worker;
    try {
      worker = Worker.start(cfg, new VllmBackendFactory());
    } catch (ConfigException e) {
      System.err.println("config error: " + e.getMessage());
      return Main.EXIT_CONFIG;
    } catch (StartupException e) {
      System.err.println("start-up failed: " + e.getMessage());
      return Main.EXIT_UNREACHABLE;
    }
    // SIGTERM and SIGINT start a drain; main then returns and the process exits 0. (A JVM
    // ended by a signal through shutdown hooks alone exits 143, which orchestrators read as
    // a failure.) The hook stays as a fallback for other ways of shutting down.
    CountDownLatch drained = new CountDownLatch(1);
    Runnable drain = () -> {
      worker.close();
      drained.countDown();
    };
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), sig -> {
        log.info("SIG{}: draining", name);
        new Thread(drain, "drain").start();
      });
    }
    Runtime.getRuntime().addShutdownHook(new Thread(drain, "shutdown"));
    worker.awaitTermination();
    // the intake also ends by itself on a fatal error (e.g. its producer was fenced by another
    // holder of its transactional id): stop the rest too, rather than idle without intake
    worker.close();
    drained.countDown();
    drained.await();
    return 0;
  }
}
