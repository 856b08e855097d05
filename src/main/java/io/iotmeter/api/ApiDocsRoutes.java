package io.iotmeter.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The API's own description: {@code /openapi.json} (the OpenAPI 3.1 document
 * {@code openapi.yaml}, read once from the jar) and {@code /docs}, a Swagger UI page over it
 * whose scripts come from the Swagger UI webjar.
 */
final class ApiDocsRoutes {

  /** The webjar's version: its files sit under META-INF/resources/webjars/swagger-ui/<version>/. */
  static final String SWAGGER_UI = "META-INF/resources/webjars/swagger-ui/5.34.1";

  private static final String PAGE = """
      <!doctype html>
      <html lang="en">
      <head>
        <meta charset="utf-8">
        <title>IoT Meter REST API</title>
        <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
      </head>
      <body>
        <div id="swagger-ui"></div>
        <script src="/docs/assets/swagger-ui-bundle.js"></script>
        <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
        <script src="/docs/init.js"></script>
      </body>
      </html>
      """;

  // In a file of its own: the page needs no inline script.
  private static final String INIT = """
      window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout',
        persistAuthorization: false});
      """;

  private final String document;

  private ApiDocsRoutes(String document) {
    this.document = document;
  }

  /** Reads {@code openapi.yaml}; a jar without it is broken, so this fails the start. */
  static ApiDocsRoutes load() {
    try (InputStream in = ApiDocsRoutes.class.getResourceAsStream("/openapi.yaml")) {
      if (in == null) {
        throw new IllegalStateException("openapi.yaml is missing from the jar");
      }
      Map<String, Object> yaml = new Yaml().load(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return new ApiDocsRoutes(new JsonObject(yaml).encode());
    } catch (IOException e) {
      throw new IllegalStateException("Cannot read openapi.yaml", e);
    }
  }

  /**
   * The documentation page's policy: Swagger UI's scripts and styles from this origin (its inline
   * styles allowed), its icons as data URLs, its "try it out" calls to this origin only.
   */
  static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      + "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

  void mount(ApiRoutes routes, Router router) {
    router.route("/docs*").handler(ctx -> {
      ctx.response().putHeader("Content-Security-Policy", POLICY).putHeader("X-Content-Type-Options", "nosniff");
      ctx.next();
    });
    routes.get("/openapi.json", ctx -> Future.succeededFuture(ApiResponse.ok(new JsonObject(document))))
        .get("/docs", ctx -> {
          ctx.response().putHeader("content-type", "text/html; charset=utf-8").end(PAGE);
          return Future.succeededFuture(ApiResponse.ok(""));
        });
    router.get("/docs/init.js").handler(ctx -> ctx.response().putHeader("content-type", "text/javascript").end(INIT));
    router.route("/docs/assets/*").handler(StaticHandler.create(SWAGGER_UI).setCachingEnabled(true));
  }
}
