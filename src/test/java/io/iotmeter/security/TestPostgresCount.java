package io.iotmeter.security;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestPostgres;

/** What the identity tables hold, read straight from PostgreSQL. */
final class TestPostgresCount {

  private TestPostgresCount() {
  }

  /** Rows of either identity table whose stored text contains {@code secret} (there must be none). */
  static long keysStoredInClear(RunningPlatform platform, String secret) {
    String quoted = secret.replace("'", "''");
    return TestPostgres.count(platform.postgres(), "SELECT (SELECT count(*) FROM api_keys WHERE secret_hash LIKE '%" + quoted
        + "%' OR name LIKE '%" + quoted + "%') + (SELECT count(*) FROM device_credentials WHERE secret_hash LIKE '%" + quoted + "%')");
  }
}
