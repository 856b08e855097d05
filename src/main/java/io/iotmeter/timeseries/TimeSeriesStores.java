package io.iotmeter.timeseries;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonObject;

/** Opens the time-series store the {@code timeseries} configuration names. Blocking. */
public final class TimeSeriesStores {

  private TimeSeriesStores() {
  }

  public static TimeSeriesStore open(JsonObject section) {
    Settings timeseries = Settings.section("timeseries", section);
    String store = timeseries.text("store");
    return switch (store) {
      case "influxdb" -> {
        Settings influx = timeseries.section("influxdb");
        yield new InfluxDbStore(influx.text("url"), influx.text("org"), influx.text("bucket"), influx.text("token"),
            gzip(influx.json()));
      }
      case "questdb" -> {
        Settings quest = timeseries.section("questdb");
        yield QuestDbStore.open(quest.text("host"), quest.integer("http_port"), quest.integer("pg_port"),
            quest.text("user"), quest.text("password"));
      }
      default -> throw new StartupException("timeseries.store must be influxdb or questdb, not '" + store + "'");
    };
  }

  /** {@code timeseries.influxdb.gzip}: true, false, or auto (compress unless the server's host is a loopback name or address). */
  static boolean gzip(JsonObject section) {
    JsonObject influx = Settings.section("timeseries.influxdb", section).json();
    String setting = String.valueOf(influx.getValue("gzip"));
    return switch (setting) {
      case "true" -> true;
      case "false" -> false;
      case "auto" -> !isLoopback(java.net.URI.create(influx.getString("url")).getHost());
      default -> throw new StartupException("timeseries.influxdb.gzip must be true, false or auto, not '" + setting + "'");
    };
  }

  private static boolean isLoopback(String host) {
    if (host == null) {
      return false;
    }
    String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return bare.equals("localhost") || bare.startsWith("127.") || bare.equals("::1") || bare.equals("0:0:0:0:0:0:0:1");
  }
}
