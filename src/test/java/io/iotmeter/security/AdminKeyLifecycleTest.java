package io.iotmeter.security;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bootstrap admin key across restarts on one database: made and printed once; deleted, it
 * stays deleted (no new key in the console log at the next start); a new one only by an
 * operator's act (security.mint_admin_key, or a configured security.admin_key, which replaces and
 * revokes the key before it).
 */
@Timeout(180)
class AdminKeyLifecycleTest {

  private static final Pattern PRINTED = Pattern.compile("iot_admin_[A-Za-z0-9_-]{43}");

  private record Started(RunningPlatform platform, String console) {
    String printedKey() {
      Matcher m = PRINTED.matcher(console);
      return m.find() ? m.group() : null;
    }
  }

  /** Starts a platform, keeping what it printed on the console. */
  private static Started start(Supplier<RunningPlatform> starter) {
    PrintStream console = System.out;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new TeeStream(console, printed), true, StandardCharsets.UTF_8));
    try {
      return new Started(starter.get(), printed.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(console);
    }
  }

  @Test
  void aDeletedBootstrapKeyIsNotMadeAgainByARestartButByAnOperatorsAct() {
    JsonObject first = RunningPlatform.securedConfig();
    first.getJsonObject("security").put("admin_key", "");
    Started one = start(() -> RunningPlatform.start(first));
    JsonObject config = one.platform().config();
    String minted = one.printedKey();
    String ops;
    try {
      assertThat(minted).as("printed on the first start").isNotNull();
      Reply created = one.platform().as(minted).post("/api/keys", new JsonObject().put("name", "ops").put("role", "admin"));
      assertThat(created.status()).as(created.toString()).isEqualTo(201);
      ops = created.json().getString("key");
      assertThat(one.platform().as(ops).delete("/api/keys/admin").status()).isEqualTo(200);
      assertThat(one.platform().as(minted).get("/api/devices").status()).isEqualTo(401);
    } finally {
      one.platform().close();
    }

    Started two = start(() -> RunningPlatform.start(config.copy()));
    try {
      assertThat(two.printedKey()).as("nothing minted nor printed at a restart").isNull();
      assertThat(two.platform().as(ops).get("/api/keys").array().stream().map(k -> ((JsonObject) k).getString("id")))
          .doesNotContain("admin");
      assertThat(two.platform().as(minted).get("/api/devices").status()).isEqualTo(401);
    } finally {
      two.platform().close();
    }

    JsonObject mint = config.copy();
    mint.getJsonObject("security").put("mint_admin_key", true);
    Started three = start(() -> RunningPlatform.start(mint));
    String again;
    try {
      again = three.printedKey();
      assertThat(again).as("minted on the operator's request").isNotNull().isNotEqualTo(minted);
      assertThat(three.platform().as(again).get("/api/devices").status()).isEqualTo(200);
    } finally {
      three.platform().close();
    }

    JsonObject configured = config.copy();
    configured.getJsonObject("security").put("admin_key", "an-admin-key-chosen-by-ops-0123456789");
    Started four = start(() -> RunningPlatform.start(configured));
    try {
      assertThat(four.printedKey()).isNull();
      assertThat(four.platform().as("an-admin-key-chosen-by-ops-0123456789").get("/api/devices").status()).isEqualTo(200);
      assertThat(four.platform().as(again).get("/api/devices").status()).as("replaced by the configured key").isEqualTo(401);
      assertThat(four.platform().as(ops).get("/api/devices").status()).as("other admin keys stay").isEqualTo(200);
    } finally {
      four.platform().close();
    }
  }

  /** Writes to two streams: the test's console stays as it was. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] bytes, int off, int len) throws java.io.IOException {
      a.write(bytes, off, len);
      b.write(bytes, off, len);
    }
  }
}
