package io.iotmeter.timeseries;

import io.iotmeter.boot.StartupException;
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
            influx.getString("token"));
      }
      case "questdb" -> {
        JsonObject quest = timeseries.getJsonObject("questdb");
        yield QuestDbStore.open(quest.getString("host"), quest.getInteger("http_port"), quest.getInteger("pg_port"),
            quest.getString("user"), quest.getString("password"));
      }
      default -> throw new StartupException("timeseries.store must be influxdb or questdb, not '" + store + "'");
    };
  }
}
