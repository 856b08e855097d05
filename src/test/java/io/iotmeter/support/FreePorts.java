package io.iotmeter.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free TCP ports on 127.0.0.1 for the tests' servers: other processes on these machines may
 * hold the fixed ones. Taken below Linux's ephemeral range (32768 and up), where the kernel
 * never hands a port to an outgoing connection — a port asked from the kernel with bind(0) could
 * be given to one of the platform's own client sockets before its server bound it — and never
 * twice in one test run (each JVM starts at its own offset).
 */
public final class FreePorts {

  private static final int FIRST = 20_000;
  private static final int COUNT = 12_000;
  private static final AtomicInteger NEXT = new AtomicInteger((int) (ProcessHandle.current().pid() * 97 % COUNT));

  private FreePorts() {
  }

  public static int next() {
    for (int attempt = 0; attempt < COUNT; attempt++) {
      int port = FIRST + Math.floorMod(NEXT.getAndIncrement(), COUNT);
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // held by someone else: the next one
      }
    }
    throw new IllegalStateException("no free port in " + FIRST + "-" + (FIRST + COUNT - 1));
  }
}
