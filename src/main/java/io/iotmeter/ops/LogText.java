package io.iotmeter.ops;

/**
 * Text from a client (an MQTT client id, a user name) made safe for one log line: control
 * characters, line separators and backslashes are escaped ({@code \n}, {@code \u001b}, …), so no
 * client can forge log lines or send escape sequences to an operator's terminal; at most
 * {@value #MAX_CHARS} characters are kept.
 */
public final class LogText {

  static final int MAX_CHARS = 256;

  private LogText() {
  }

  public static String escaped(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder out = null;
    int end = Math.min(text.length(), MAX_CHARS);
    for (int i = 0; i < end; i++) {
      char c = text.charAt(i);
      String replacement = switch (c) {
        case '\\' -> "\\\\";
        case '\n' -> "\\n";
        case '\r' -> "\\r";
        case '\t' -> "\\t";
        default -> c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029'
            ? String.format("\\u%04x", (int) c) : null;
      };
      if (replacement != null && out == null) {
        out = new StringBuilder(end + 16).append(text, 0, i);
      }
      if (out != null) {
        if (replacement != null) {
          out.append(replacement);
        } else {
          out.append(c);
        }
      }
    }
    String result = out == null ? text.substring(0, end) : out.toString();
    return text.length() > MAX_CHARS ? result + "…(" + text.length() + " characters)" : result;
  }
}
