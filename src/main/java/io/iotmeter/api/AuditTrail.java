package io.iotmeter.api;

import io.iotmeter.store.Rows;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code audit_log} table (all its SQL): every state-changing API call — and every refused
 * one — with who (the API key's id and name), what (method, route, path), when, from where and
 * the answer's status. Written after the answer, so a slow audit never holds a request up; a
 * write that fails is logged and counted, never silent.
 */
final class AuditTrail {

  private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);
  static final int MAX_LIMIT = 1000;

  private final Pool pool;
  private final Counter failures;

  AuditTrail(Pool pool, MeterRegistry metrics) {
    this.pool = pool;
    this.failures = Counter.builder("device_manager.audit.failures").description("Audit records that could not be written")
        .register(metrics);
  }

  void record(ApiGate.Caller caller, String method, String route, String path, int status, String remote) {
    String actor = caller == null ? "-" : caller.name();
    pool.preparedQuery("INSERT INTO audit_log (key_id, actor, method, route, path, status, remote) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .execute(Tuple.from(new Object[] {caller == null ? null : caller.keyId(), actor, method, route,
            path.length() > 1000 ? path.substring(0, 1000) : path, (short) status, remote}))
        .onFailure(e -> {
          failures.increment();
          LOG.error("Audit record lost ({} {} by {} -> {}): {}", method, path, actor, status, e.getMessage());
        });
  }

  /** Newest first; {@code before} (an id) pages back. */
  Future<JsonArray> list(int limit, Long before) {
    return pool.preparedQuery("SELECT id, at, key_id, actor, method, route, path, status, remote FROM audit_log "
            + "WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2")
        .execute(Tuple.of(before, limit))
        .map(rows -> Rows.array(rows, row -> new JsonObject()
            .put("id", row.getLong("id"))
            .put("at", Rows.iso(row.getOffsetDateTime("at")))
            .put("key_id", row.getString("key_id"))
            .put("actor", row.getString("actor"))
            .put("method", row.getString("method"))
            .put("route", row.getString("route"))
            .put("path", row.getString("path"))
            .put("status", (int) row.getShort("status"))
            .put("remote", row.getString("remote"))));
  }
}
