package io.iotmeter.timeseries;

import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonObject;

/** Opens the time-series store the {@code timeseries} configuration names. Blocking. */
public final class TimeSeriesStores {

  private TimeSeriesStores() {
  }

  public static TimeSeriesStore open(JsonObject timeseries) {
    String store = timeseries.getString("store", "influxdb");
    return switch (store) {
      case "influxdb" -> {
        JsonObject influx = timeseries.getJsonObject("influxdb");
        yield new InfluxDbStore(influx.getString("url"), influx.getString("org"), influx.getString("bucket"),
            influx.getString("token"), gzip(influx));
      }
      case "questdb" -> {
        JsonObject quest = timeseries.getJsonObject("questdb");
        yield QuestDbStore.open(quest.getString("host"), quest.getInteger("http_port"), quest.getInteger("pg_port"),
            quest.getString("user"), quest.getString("password"));
      }
      default -> throw new StartupException("timeseries.store must be influxdb or questdb, not '" + store + "'");
    };
  }

  /** {@code timeseries.influxdb.gzip}: true, false, or auto (compress unless the server's host is a loopback name or address). */
  static boolean gzip(JsonObject influx) {
    String setting = String.valueOf(influx.getValue("gzip", "auto"));
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
