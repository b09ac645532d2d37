package io.kvw.worker.backend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A throwaway CA with a server and a client certificate, made with the JDK's keytool (no
 * extra library), written as the PEM files the worker and the simulator read.
 */
final class TestCertificates {
  private static final String PASS = "changeit";
  final Path dir;

  /** A CA only. */
  TestCertificates(Path dir, String caName) throws Exception {
    this(dir, caName, false);
  }

  /** A CA and, with {@code leaves}, a server and a client certificate it signed. */
  TestCertificates(Path dir, String caName, boolean leaves) throws Exception {
    this.dir = dir;
    keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=" + caName, "-ext", "bc:c", "-validity", "2", "-keystore", p12("ca"));
    Files.writeString(dir.resolve("ca.pem"), keytool("-exportcert", "-rfc", "-alias", "ca",
        "-keystore", p12("ca")));
    if (leaves) {
      issue("server", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1");
      issue("client", "CN=kvw-worker", null);
    }
  }

  Path ca() {
    return dir.resolve("ca.pem");
  }

  Path cert(String who) {
    return dir.resolve(who + "-chain.pem");
  }

  Path key(String who) {
    return dir.resolve(who + "-key.pem");
  }

  private String p12(String name) {
    return dir.resolve(name + ".p12").toString();
  }

  private void issue(String who, String dname, String san) throws Exception {
    keytool("-genkeypair", "-alias", who, "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
        dname, "-validity", "2", "-keystore", p12(who));
    String csr = keytool("-certreq", "-alias", who, "-keystore", p12(who));
    List<String> sign = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca",
        "-validity", "2", "-keystore", p12("ca")));
    if (san != null) {
      sign.addAll(List.of("-ext", san));
    }
    String signed = keytoolWithInput(csr, sign.toArray(String[]::new));
    Files.writeString(cert(who), signed + Files.readString(ca()));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Path.of(p12(who)))) {
      ks.load(in, PASS.toCharArray());
    }
    Key key = ks.getKey(who, PASS.toCharArray());
    Files.writeString(key(who), "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
        + "\n-----END PRIVATE KEY-----\n");
  }

  private static String keytool(String... args) throws Exception {
    return keytoolWithInput(null, args);
  }

  private static String keytoolWithInput(String input, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    // each keytool is a JVM start: C1 only and the serial collector take a third off its CPU
    cmd.addAll(List.of("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-storepass", PASS, "-keypass", PASS, "-storetype", "PKCS12"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
    if (input != null) {
      p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("keytool " + String.join(" ", args) + " failed: " + err);
    }
    return out;
  }
}
