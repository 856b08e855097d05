package io.iotmeter.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps the README's result tables what the long runs generated: each block between
 * {@code <!-- results: docs/results/NAME.md -->} and {@code <!-- end of results -->} is that
 * file's body (everything after its title). {@code DocsTest} fails when a block differs from its
 * file; this program rewrites the blocks from the files:
 * {@code mvn -B -q test-compile exec:java -Dexec.mainClass=io.iotmeter.support.ResultsInReadme}.
 */
public final class ResultsInReadme {

  public static final Path README = Path.of("README.md");
  private static final Pattern BLOCK =
      Pattern.compile("(<!-- results: (docs/results/[A-Za-z0-9._-]+\\.md) -->\n)(.*?)(<!-- end of results -->)", Pattern.DOTALL);

  private ResultsInReadme() {
  }

  /** The README with every results block replaced by its file's body. */
  public static String render(String readme) throws IOException {
    Matcher m = BLOCK.matcher(readme);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + body(Path.of(m.group(2))) + m.group(4)));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The files the README shows. */
  public static java.util.List<Path> shown(String readme) {
    Matcher m = BLOCK.matcher(readme);
    java.util.List<Path> files = new java.util.ArrayList<>();
    while (m.find()) {
      files.add(Path.of(m.group(2)));
    }
    return files;
  }

  /** A results file without its title line. */
  static String body(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    return text.startsWith("# ") ? text.substring(text.indexOf('\n') + 1).stripLeading() : text;
  }

  public static void main(String[] args) throws IOException {
    String readme = Files.readString(README, StandardCharsets.UTF_8);
    String rendered = render(readme);
    if (!rendered.equals(readme)) {
      Files.writeString(README, rendered, StandardCharsets.UTF_8);
      System.out.println("README.md: results blocks updated from " + shown(readme));
    } else {
      System.out.println("README.md: results blocks already match " + shown(readme));
    }
  }
}
