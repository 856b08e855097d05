package io.iotmeter.ops;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;

/**
 * The platform's HTTP API as the command-line tools reach it ({@code --url}), and the one-line
 * explanation when they cannot.
 */
record PlatformEndpoint(URI base) {

  static final String DEFAULT_URL = "http://localhost:8080";
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  /** @throws IllegalArgumentException when {@code text} is not an http(s) URL */
  static PlatformEndpoint parse(String text) {
    try {
      URI uri = new URI(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new URISyntaxException(text, "not an http or https URL");
      }
      return new PlatformEndpoint(uri);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("--url must be an http:// or https:// URL such as " + DEFAULT_URL + ", not '" + text + "'");
    }
  }

  URI resolve(String pathAndQuery) {
    return URI.create(base + pathAndQuery);
  }

  /** HTTP/1.1: a server-sent-events stream is one long response, nothing to gain from HTTP/2's upgrade dance. */
  static HttpClient client() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
  }

  /** Why the platform could not be reached, for one line of output. */
  String unreachable(IOException failure) {
    String reason;
    if (failure instanceof HttpConnectTimeoutException) {
      reason = "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
    } else if (failure instanceof HttpTimeoutException) {
      reason = "no answer in time";
    } else if (failure instanceof ConnectException && failure.getCause() instanceof UnresolvedAddressException) {
      reason = "unknown host " + base.getHost();
    } else if (failure instanceof ConnectException) {
      reason = "connection refused (is it running, and is the port right?)";
    } else {
      reason = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
    }
    return "cannot reach the platform at " + base + ": " + reason;
  }
}
