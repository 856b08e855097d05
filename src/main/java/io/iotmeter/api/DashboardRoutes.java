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

  static void mount(Router router) {
    router.get("/").handler(ctx -> ctx.redirect("/ui/"));
    router.route("/ui/*").handler(ctx -> {
      // Scripts and styles from this origin only; the bridge's WebSocket is this origin too.
      ctx.response().putHeader("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; "
              + "img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
          .putHeader("X-Content-Type-Options", "nosniff");
      ctx.next();
    });
    router.route("/ui/lib/uplot/*").handler(StaticHandler.create(UPLOT).setCachingEnabled(true));
    router.route("/ui/*").handler(StaticHandler.create("webroot/ui").setCachingEnabled(false));
  }
}
