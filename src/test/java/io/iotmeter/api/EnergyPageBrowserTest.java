package io.iotmeter.api;

import io.iotmeter.sim.TrainDrive;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.HeadlessBrowser;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestMeter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard's Energy page in a real browser (chromium, headless, through Selenium) against a
 * secured platform: a train's two traction meters replay their last two hours as a meter flushes
 * its buffer (one of them with half an hour missing), the page draws the train's periods drawn
 * and fed back, coloured by quality, the completeness report names the missing periods, and the
 * device page lists its periods. The screenshot ({@code target/screenshots/energy.png}) is the
 * one in docs/img.
 */
@Timeout(300)
class EnergyPageBrowserTest {

  private static final Duration WAIT = Duration.ofSeconds(90);
  private static RunningPlatform platform;
  private static Vertx devices;
  private static Instant from;
  private static Instant to;

  @BeforeAll
  static void start() {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("energy").put("late_settle_s", 1).put("compile_interval_ms", 500);
    platform = RunningPlatform.start(config);
    devices = Vertx.vertx();
    // The last two hours, up to five minutes ago, whole periods.
    to = Instant.ofEpochSecond((Instant.now().getEpochSecond() / 300 - 1) * 300);
    from = to.minus(Duration.ofHours(2));
    for (int car = 1; car <= 2; car++) {
      String id = "ICE-4711-m" + car;
      platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices", new JsonObject().put("device_id", id).put("device_name", id)
          .put("device_type", "traction_meter_dc").put("metadata", new JsonObject().put("train_id", "ICE-4711").put("car", car)
              .put("traction_system", "3kV_DC").put("consumption_point_id", "CP-DE-4711-" + car)));
      replay(id, new TrainDrive("ICE-4711", car, 2), car == 2 ? from.plus(Duration.ofMinutes(40)) : null);
    }
  }

  /** Sends the meter's samples from {@code from} to {@code to}, ten seconds a datagram; without the half hour after {@code gapFrom}. */
  private static void replay(String deviceId, TrainDrive drive, Instant gapFrom) {
    String password = platform.issueDeviceCredentials(deviceId);
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), new MqttClientOptions().setClientId(deviceId)
        .setUsername(deviceId).setPassword(password).setCleanSession(true))) {
      long seq = 1;
      for (Instant t = from; t.isBefore(to.plusSeconds(10)); t = t.plusSeconds(10)) {
        JsonArray measurements = new JsonArray();
        for (int s = 0; s < 10; s++) {
          Instant at = t.plusSeconds(s);
          List<JsonObject> entries = drive.sample(at, at.toString());
          if (gapFrom == null || at.isBefore(gapFrom) || !at.isBefore(gapFrom.plus(Duration.ofMinutes(30)))) {
            entries.forEach(measurements::add);
          }
        }
        if (!measurements.isEmpty()) {
          meter.send("iot/" + deviceId + "/telemetry", new JsonObject().put("v", 2).put("device_id", deviceId)
              .put("ts", t.plusSeconds(9).plusMillis(300).toString()).put("seq", seq++).put("msg_type", "telemetry")
              .put("measurements", measurements), 1);
        }
      }
    }
  }

  @AfterAll
  static void stop() {
    platform.close();
    devices.close().await();
  }

  @Test
  void theEnergyPageDrawsTheTrainsPeriodsByQualityAndTheCompletenessReport() {
    String date = to.minusSeconds(1).atZone(ZoneOffset.UTC).toLocalDate().toString();
    // Every period of both meters is compiled before the page is opened (24 of the first, 18 of the second).
    Eventually.within(WAIT, () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY)
        .get("/api/devices/ICE-4711-m2/energy-periods?start=" + from + "&stop=" + to).array()).hasSize(18));
    Eventually.within(WAIT, () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY)
        .get("/api/devices/ICE-4711-m1/energy-periods?start=" + from + "&stop=" + to).array()).hasSize(24));
    String viewer = platform.newKey("energy-desk", "viewer");
    HeadlessBrowser window = new HeadlessBrowser(1400, 1100);
    WebDriver browser = window.driver();
    try {
      String base = "http://127.0.0.1:" + platform.httpPort() + "/ui/";
      browser.get(base);
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(20));
      wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-key"))).sendKeys(viewer);
      browser.findElement(By.cssSelector("#login-form button")).click();
      wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-fleet")));
      browser.get(base + "#/energy");
      wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-energy")));
      ((JavascriptExecutor) browser).executeScript("document.getElementById('energy-date').value = arguments[0];", date);
      // The reference's seeded meters name trains of their own: choose this one.
      wait.until(d -> !d.findElements(By.cssSelector("#energy-train option[value='ICE-4711']")).isEmpty());
      new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("energy-train"))).selectByValue("ICE-4711");
      browser.findElement(By.cssSelector("#energy-form button")).click();
      try {
        wait.until(d -> d.findElements(By.cssSelector("#energy-chart rect.bar")).size() >= 24);
      } catch (org.openqa.selenium.TimeoutException e) {
        window.screenshot("energy-failed");
        throw new AssertionError("no bars: " + browser.findElement(By.id("page-energy")).getText() + " / console: "
            + window.consoleErrors(), e);
      }

      List<WebElement> drawn = browser.findElements(By.cssSelector("#energy-chart rect.bar[data-direction='drawn']"));
      List<WebElement> fedBack = browser.findElements(By.cssSelector("#energy-chart rect.bar[data-direction='fed-back']"));
      assertThat(drawn).as("a bar up for every period").hasSizeGreaterThanOrEqualTo(24);
      assertThat(fedBack).as("regeneration below the axis").isNotEmpty();
      assertThat(browser.findElements(By.cssSelector("#energy-chart rect.bar.measured"))).isNotEmpty();
      assertThat(browser.findElement(By.id("energy-train")).getAttribute("value")).isEqualTo("ICE-4711");

      WebElement second = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#completeness tr[data-device='ICE-4711-m2']")));
      List<WebElement> cells = second.findElements(By.tagName("td"));
      assertThat(cells.get(1).getText()).isEqualTo("CP-DE-4711-2");
      assertThat(Integer.parseInt(cells.get(4).getText())).as("the half hour missing").isGreaterThanOrEqualTo(6);
      window.screenshot("energy");

      browser.get(base + "#/device/ICE-4711-m1");
      wait.until(d -> d.findElements(By.cssSelector("#device-periods tbody tr")).size() == 12);
      // Newest first. The period the replay stopped 10 s into is compiled a minute after its end,
      // so it may not be listed yet; when it is, it is incomplete, and every period before it measured.
      for (WebElement row : browser.findElements(By.cssSelector("#device-periods tbody tr"))) {
        String quality = row.findElement(By.cssSelector("td:nth-child(4)")).getText();
        boolean last = java.time.Instant.parse(row.getAttribute("data-period")).equals(to);
        assertThat(quality).as(row.getAttribute("data-period")).isEqualTo(last ? "incomplete" : "measured");
      }
      assertThat(window.consoleErrors()).isEmpty();
    } finally {
      window.close();
    }
  }
}
