package io.iotmeter.timeseries;

import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** timeseries.influxdb.gzip: compression where it pays (a network), not on loopback. */
class TimeSeriesStoresTest {

  private static JsonObject influx(String url, Object gzip) {
    JsonObject influx = new JsonObject().put("url", url);
    return gzip == null ? influx : influx.put("gzip", gzip);
  }

  @Test
  void autoCompressesOnlyForARemoteServer() {
    assertThat(TimeSeriesStores.gzip(influx("http://localhost:8086", "auto"))).isFalse();
    assertThat(TimeSeriesStores.gzip(influx("http://127.0.0.1:8086", null))).isFalse();
    assertThat(TimeSeriesStores.gzip(influx("http://[::1]:8086", "auto"))).isFalse();
    assertThat(TimeSeriesStores.gzip(influx("http://influxdb:8086", "auto"))).isTrue();
    assertThat(TimeSeriesStores.gzip(influx("https://10.0.0.7:8086", "auto"))).isTrue();
  }

  @Test
  void anExplicitSettingWins() {
    assertThat(TimeSeriesStores.gzip(influx("http://localhost:8086", true))).isTrue();
    assertThat(TimeSeriesStores.gzip(influx("http://influxdb:8086", false))).isFalse();
    assertThat(TimeSeriesStores.gzip(influx("http://influxdb:8086", "false"))).isFalse();
  }

  @Test
  void anythingElseStopsTheStartWithTheKeyNamed() {
    assertThatThrownBy(() -> TimeSeriesStores.gzip(influx("http://influxdb:8086", "sometimes")))
        .isInstanceOf(StartupException.class).hasMessageContaining("timeseries.influxdb.gzip");
  }
}
