package io.iotmeter.api;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The live web dashboard at {@code /ui} (and {@code /} leads there): static pages from the jar
 * ({@code webroot/ui}) and the chart library from its webjar (uPlot), not copied sources. The
 * page itself is public — it holds no data; it asks the REST API and the SockJS bridge with the
 * API key the user enters, so it shows and allows what that key's role does.
 */
final class DashboardRoutes {

  /** The webjar's files sit under META-INF/resources/webjars/uplot/&lt;version&gt;/dist/. */
  static final String UPLOT = "META-INF/resources/webjars/uplot/1.6.30/dist";

  private DashboardRoutes() {
  }

  /** A Host header that can stand in a policy as it is: a name or an IPv6 literal, and a port. */
  private static final java.util.regex.Pattern HOST =
      java.util.regex.Pattern.compile("(?:[A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}])(?::[0-9]{1,5})?");

  static void mount(Router router) {
    router.get("/").handler(ctx -> ctx.redirect("/ui/"));
    router.route("/ui/*").handler(ctx -> {
      ctx.response().putHeader("Content-Security-Policy", policy(ctx.request().getHeader("Host")))
          .putHeader("X-Content-Type-Options", "nosniff");
      ctx.next();
    });
    router.route("/ui/lib/uplot/*").handler(StaticHandler.create(UPLOT).setCachingEnabled(true));
    router.route("/ui/*").handler(StaticHandler.create("webroot/ui").setCachingEnabled(false));
  }

  /**
   * Scripts and styles from this origin only, and WebSockets only to it (the bridge at
   * {@code /eventbus}): the page's own host, as its request named it — a host that is not a plain
   * name and port gets no WebSocket source at all rather than text of its own in the header.
   */
  static String policy(String host) {
    String sockets = host != null && HOST.matcher(host).matches() ? " ws://" + host + " wss://" + host : "";
    return "default-src 'self'; connect-src 'self'" + sockets + "; img-src 'self' data:; "
        + "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  }
}
