package io.iotmeter.api;

import io.iotmeter.support.HeadlessBrowser;
import io.iotmeter.support.RunningPlatform;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard at {@code /ui} in a real browser — Debian's chromium, headless, driven by
 * Selenium through chromium-driver (both installed by {@code .ci/run}) — against a secured
 * platform with its three simulated meters: it loads without console errors, shows the meters
 * online, a chart gains points without a reload, an operator's command is acknowledged, and a
 * viewer gets no command form. A screenshot of each page goes to {@code target/screenshots}.
 */
@Timeout(240)
class DashboardBrowserTest {

  private static RunningPlatform platform;
  private static String viewer;
  private static String operator;
  private HeadlessBrowser window;
  private WebDriver browser;

  @BeforeAll
  static void start() {
    platform = RunningPlatform.start(RunningPlatform.securedConfigWithMeters(2));
    viewer = platform.newKey("wall-screen", "viewer");
    operator = platform.newKey("duty-operator", "operator");
  }

  @AfterAll
  static void stop() {
    platform.close();
  }

  @BeforeEach
  void openBrowser() {
    window = new HeadlessBrowser(1400, 1000);
    browser = window.driver();
  }

  @AfterEach
  void closeBrowser() {
    window.close();
  }

  private String url(String fragment) {
    return "http://127.0.0.1:" + platform.httpPort() + "/ui/" + fragment;
  }

  private WebDriverWait waiting(int seconds) {
    return new WebDriverWait(browser, Duration.ofSeconds(seconds));
  }

  private void signIn(String key) {
    browser.get(url(""));
    waiting(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("login-key"))).sendKeys(key);
    browser.findElement(By.cssSelector("#login-form button")).click();
    waiting(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("page-fleet")));
  }

  private void screenshot(String name) {
    window.screenshot(name);
  }

  private List<String> consoleErrors() {
    return window.consoleErrors();
  }

  private String statusOf(String device) {
    return browser.findElement(By.cssSelector("#fleet tr[data-device='" + device + "'] .status")).getText();
  }

  /** The API documentation renders under its Content-Security-Policy, which the browser reports nothing against. */
  @Test
  void theApiDocumentationRendersUnderItsContentSecurityPolicy() throws Exception {
    browser.get("http://127.0.0.1:" + platform.httpPort() + "/docs");
    waiting(20).until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector(".opblock-summary")));
    assertThat(browser.findElements(By.cssSelector(".opblock-summary")).size()).as("operations shown").isGreaterThan(30);
    screenshot("docs");
    assertThat(consoleErrors()).as("console errors (a CSP violation among them; the absent favicon aside)")
        .filteredOn(e -> !e.contains("/favicon.ico")).isEmpty();
    assertThat(platform.get("/docs").status()).isEqualTo(200);
    assertThat(platform.lastHeader("Content-Security-Policy")).contains("script-src 'self'").contains("frame-ancestors 'none'");
    platform.get("/ui/");
    String ui = platform.lastHeader("Content-Security-Policy");
    assertThat(ui).as("WebSockets to this origin only").contains("connect-src 'self' ws://127.0.0.1:" + platform.httpPort()
        + " wss://127.0.0.1:" + platform.httpPort() + ";").doesNotContain(" ws: ").doesNotContain(" wss:;");
    assertThat(DashboardRoutes.policy("evil.example; script-src *")).as("a Host that is not a host")
        .contains("connect-src 'self';").doesNotContain("evil");
  }

  @Test
  void theFleetShowsTheSimulatedMetersOnlineAndTheDevicePageChartsGrowLive() throws Exception {
    signIn(viewer);
    waiting(30).until(d -> {
      // Status changes arrive live; a reload is not needed, but the first rows come from REST.
      List<WebElement> rows = d.findElements(By.cssSelector("#fleet tbody tr"));
      return rows.size() >= 3 && List.of("dc-meter-001", "dc-meter-002", "ac-meter-001").stream()
          .allMatch(id -> !d.findElements(By.cssSelector("#fleet tr[data-device='" + id + "'] .status.online")).isEmpty());
    });
    assertThat(statusOf("ac-meter-001")).isEqualTo("online");
    assertThat(browser.findElement(By.id("live")).getText()).isEqualTo("live");
    screenshot("fleet");

    browser.findElement(By.linkText("dc-meter-001")).click();
    WebElement power = waiting(15).until(ExpectedConditions.visibilityOfElementLocated(By.id("chart-power")));
    waiting(15).until(d -> Integer.parseInt(power.getDomAttribute("data-points")) > 0
        || !d.findElements(By.cssSelector("#page-device .error")).isEmpty());
    int before = Integer.parseInt(power.getDomAttribute("data-points"));
    try {
      waiting(15).until(d -> Integer.parseInt(power.getDomAttribute("data-points")) > before);
    } catch (org.openqa.selenium.TimeoutException e) {
      throw new AssertionError("no live points: " + ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(
          "return JSON.stringify({received: bus.received, handlers: [...bus.handlers.keys()], points: state.charts.power.xs.length, "
              + "last: state.charts.power.xs.slice(-3)})"), e);
    }
    assertThat(browser.findElement(By.id("command-form")).isDisplayed()).as("a viewer gets no command form").isFalse();
    screenshot("device");

    browser.findElement(By.linkText("Alerts")).click();
    waiting(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("page-alerts")));
    assertThat(browser.findElements(By.cssSelector("#alerts button"))).as("a viewer cannot acknowledge").isEmpty();
    screenshot("alerts");

    browser.findElement(By.linkText("Platform")).click();
    waiting(20).until(d -> !d.findElements(By.cssSelector("#ingest tbody tr")).isEmpty());
    assertThat(browser.findElement(By.id("readiness-status")).getText()).isNotEmpty();
    screenshot("platform");
    assertThat(consoleErrors()).as("the browser console").isEmpty();
  }

  @Test
  void anOperatorSendsACommandAndSeesItAcknowledged() throws Exception {
    signIn(operator);
    browser.get(url("#/device/dc-meter-002"));
    WebElement form = waiting(15).until(ExpectedConditions.visibilityOfElementLocated(By.id("command-form")));
    waiting(15).until(d -> d.findElement(By.id("live")).getText().equals("live"));
    form.findElement(By.cssSelector("button")).click();
    waiting(15).until(ExpectedConditions.textToBePresentInElementLocated(By.id("command-result"), "pending"));
    // The simulated meter answers request_status; the row follows live (iot.live.commands).
    waiting(30).until(d -> d.findElements(By.cssSelector("#commands .cmd-status")).stream()
        .anyMatch(cell -> cell.getText().equals("accepted")));
    screenshot("device-command");
    assertThat(consoleErrors()).as("the browser console").isEmpty();
  }

  @Test
  void aViewerCannotSendACommandEvenPastThePage() throws Exception {
    signIn(viewer);
    browser.get(url("#/device/dc-meter-001"));
    waiting(15).until(d -> d.findElement(By.id("live")).getText().equals("live"));
    // What a viewer's page would get if it sent one anyway: the bridge refuses it.
    Object answer = ((org.openqa.selenium.JavascriptExecutor) browser).executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "bus.request('iot.live.command.request', {device_id: 'dc-meter-001', cmd: 'request_status'})"
            + ".then(r => done('sent: ' + JSON.stringify(r)), e => done('refused: ' + e.message));");
    assertThat(String.valueOf(answer)).startsWith("refused: access_denied").contains("needs the operator role");
  }
}
