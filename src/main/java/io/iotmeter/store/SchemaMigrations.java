package io.iotmeter.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Versioned schema migrations, applied at startup. The scripts are
 * {@code db/migration/V<n>__<description>.sql}, listed in order in {@code db/migration/index}.
 *
 * <p>Each pending script runs in one transaction together with its row in
 * {@code schema_migrations}, under a transaction-scoped advisory lock, so nodes starting at
 * the same time apply each script exactly once; a script applied before is skipped. A script
 * changed after it was applied is a startup error (its checksum no longer matches).
 */
public final class SchemaMigrations {

  private static final Logger LOG = LoggerFactory.getLogger(SchemaMigrations.class);
  private static final String INDEX = "db/migration/index";
  private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__([A-Za-z0-9_]+)\\.sql");
  /** Arbitrary, fixed key of the advisory lock that serialises migrating nodes. */
  private static final long LOCK_KEY = 0x10_7e_7e_12L;

  /** One migration script. */
  public record Script(int version, String description, String sql, String checksum) {
  }

  private SchemaMigrations() {
  }

  /** Applies every pending script; the future holds the versions applied now. */
  public static Future<List<Integer>> migrate(Vertx vertx, Pool pool) {
    return load(vertx).compose(scripts -> pool.withTransaction(conn -> conn
        .query("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")").execute()
        .compose(v -> conn.query("CREATE TABLE IF NOT EXISTS schema_migrations ("
            + "version INTEGER PRIMARY KEY, description TEXT NOT NULL, checksum TEXT NOT NULL, "
            + "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())").execute())
        .compose(v -> conn.query("SELECT version, checksum FROM schema_migrations").execute())
        .map(rows -> {
          List<Row> list = new ArrayList<>();
          rows.forEach(list::add);
          return list.stream().collect(Collectors.toMap(r -> r.getInteger("version"), r -> r.getString("checksum")));
        })
        .compose(applied -> applyPending(conn, scripts, applied))));
  }

  private static Future<List<Integer>> applyPending(SqlConnection conn, List<Script> scripts, Map<Integer, String> applied) {
    List<Integer> appliedNow = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (Script script : scripts) {
      String checksum = applied.get(script.version());
      if (checksum != null) {
        if (!checksum.equals(script.checksum())) {
          return Future.failedFuture(new IllegalStateException("Migration V" + script.version()
              + " was changed after it was applied (checksum mismatch); add a new migration instead"));
        }
        continue;
      }
      chain = chain
          .compose(v -> conn.query(script.sql()).execute())
          .compose(v -> conn.preparedQuery("INSERT INTO schema_migrations (version, description, checksum) VALUES ($1, $2, $3)")
              .execute(Tuple.of(script.version(), script.description(), script.checksum())))
          .map(v -> {
            LOG.info("Applied migration V{} {}", script.version(), script.description());
            appliedNow.add(script.version());
            return null;
          });
    }
    return chain.map(v -> appliedNow);
  }

  /** Reads the scripts named in the index, in version order. */
  public static Future<List<Script>> load(Vertx vertx) {
    return vertx.fileSystem().readFile(INDEX).compose(index -> {
      List<String> names = index.toString(StandardCharsets.UTF_8).lines()
          .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
      List<Future<Script>> reads = names.stream()
          .map(name -> vertx.fileSystem().readFile("db/migration/" + name).map(parse(name)))
          .toList();
      return Future.all(reads).map(all -> {
        List<Script> scripts = new ArrayList<>(all.<Script>list());
        for (int i = 0; i < scripts.size(); i++) {
          if (scripts.get(i).version() != i + 1) {
            throw new IllegalStateException("Migrations must be numbered V1, V2, ... without gaps; found V"
                + scripts.get(i).version() + " at position " + (i + 1));
          }
        }
        return scripts;
      });
    });
  }

  private static Function<Buffer, Script> parse(String name) {
    return content -> {
      Matcher m = FILE_NAME.matcher(name);
      if (!m.matches()) {
        throw new IllegalStateException("Migration file name must look like V1__description.sql: " + name);
      }
      String sql = content.toString(StandardCharsets.UTF_8);
      return new Script(Integer.parseInt(m.group(1)), m.group(2).replace('_', ' '), sql, sha256(sql));
    };
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
