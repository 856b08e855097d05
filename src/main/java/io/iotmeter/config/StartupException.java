package io.iotmeter.config;

/**
 * A startup failure whose message is already fit for the operator (for example "HTTP port
 * 8080 is already in use"): the launcher prints it without a stack trace.
 */
public final class StartupException extends RuntimeException {

  public StartupException(String message) {
    super(message);
  }

  public StartupException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Turns a failed {@code listen} into an operator message naming the port and how to change it.
   */
  public static Throwable explainListenFailure(Throwable failure, String what, int port, String configKey) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof java.net.BindException || String.valueOf(root.getMessage()).contains("Address already in use")) {
      return new StartupException(what + " port " + port + " is already in use; choose another with "
          + configKey + " (environment " + ConfigOverrides.envName(configKey) + ")", failure);
    }
    return new StartupException("Cannot listen on " + what + " port " + port + ": " + root.getMessage(), failure);
  }
}
