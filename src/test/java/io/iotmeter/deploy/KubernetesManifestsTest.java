package io.iotmeter.deploy;

import io.iotmeter.boot.ConfigOverrides;
import io.iotmeter.boot.NodeRole;
import io.iotmeter.support.Profiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No cluster runs on the build machines: the k8s/ manifests are checked here — they parse, the
 * kustomization lists them all, every environment variable names a configuration key of the
 * cluster profile, and the roles and ports are ones the platform has.
 */
class KubernetesManifestsTest {

  private static final Path BASE = Path.of("k8s/base");

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> documents(Path file) throws Exception {
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : new Yaml().loadAll(Files.readString(file))) {
      if (doc != null) {
        docs.add((Map<String, Object>) doc);
      }
    }
    return docs;
  }

  private static JsonObject clusterProfile() {
    return Profiles.load("cluster");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theKustomizationListsEveryManifest() throws Exception {
    Map<String, Object> kustomization = documents(BASE.resolve("kustomization.yaml")).get(0);
    List<String> resources = (List<String>) kustomization.get("resources");
    try (var files = Files.list(BASE)) {
      List<String> manifests = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList();
      assertThat(resources).containsExactlyInAnyOrderElementsOf(manifests);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void containersUseRealRolesPortsAndConfigurationVariables() throws Exception {
    Collection<String> variables = ConfigOverrides.variables(clusterProfile()).values();
    int containers = 0;
    try (var files = Files.list(BASE)) {
      for (Path file : files.toList()) {
        for (Map<String, Object> doc : documents(file)) {
          if ("Secret".equals(doc.get("kind"))) {
            ((Map<String, Object>) doc.get("stringData")).keySet()
                .forEach(v -> assertThat(variables).as(file + ": " + v).contains(v));
          }
          if (!List.of("Deployment", "StatefulSet").contains(doc.get("kind"))) {
            continue;
          }
          Map<String, Object> pod = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) doc.get("spec"))
              .get("template")).get("spec");
          for (Map<String, Object> container : (List<Map<String, Object>>) pod.get("containers")) {
            containers++;
            List<String> args = (List<String>) container.get("args");
            assertThat(args).containsSequence("--profile", "cluster");
            String roles = args.get(args.indexOf("--role") + 1);
            for (String role : roles.split(",")) {
              assertThat(NodeRole.names()).contains(role);
            }
            for (Map<String, Object> env : (List<Map<String, Object>>) container.get("env")) {
              assertThat(variables).as(file + ": " + env.get("name")).contains((String) env.get("name"));
            }
            List<Object> ports = ((List<Map<String, Object>>) container.get("ports")).stream()
                .map(p -> p.get("containerPort")).toList();
            assertThat(ports).contains(5701);
            assertThat(ports).containsAnyOf(8080, 8081);
            // The heap (a share of the memory limit) holds the bounds of what this role deploys.
            Map<String, Object> resources = (Map<String, Object>) container.get("resources");
            assertThat(resources).as(file + ": resources").isNotNull();
            String limit = String.valueOf(((Map<String, Object>) resources.get("limits")).get("memory"));
            long heap = (long) (DockerFilesTest.memory(limit) * DockerFilesTest.heapShare());
            JsonObject node = clusterProfile().put("roles", new io.vertx.core.json.JsonArray(List.of(roles.split(","))));
            long budget = io.iotmeter.boot.MemoryBudget.bytes(node);
            assertThat(heap).as("%s: heap of a %s node vs its bounds (%d MiB)", file, roles, budget >> 20).isGreaterThanOrEqualTo(budget);
          }
        }
      }
    }
    assertThat(containers).isEqualTo(2);
  }

  @Test
  @SuppressWarnings("unchecked")
  void onlyPlatformPodsReachTheClusterPorts() throws Exception {
    Map<String, Object> policy = documents(BASE.resolve("network-policy.yaml")).get(0);
    assertThat(policy.get("kind")).isEqualTo("NetworkPolicy");
    Map<String, Object> spec = (Map<String, Object>) policy.get("spec");
    Map<String, Object> platformPods = Map.of("matchLabels", Map.of("app.kubernetes.io/part-of", "iot-meter"));
    assertThat(spec.get("podSelector")).isEqualTo(platformPods);
    List<Map<String, Object>> rules = (List<Map<String, Object>>) spec.get("ingress");
    for (Map<String, Object> rule : rules) {
      List<Integer> ports = ((List<Map<String, Object>>) rule.get("ports")).stream().map(p -> (Integer) p.get("port")).toList();
      if (ports.contains(5701) || ports.contains(5702)) {
        assertThat(rule.get("from")).as("the cluster ports' rule names its peers").isEqualTo(List.of(Map.of("podSelector", platformPods)));
      }
    }
    // The bus port the policy names is the one the pods use.
    for (String manifest : List.of("api.yaml", "ingest.yaml")) {
      assertThat(Files.readString(BASE.resolve(manifest))).contains("name: IOT_CLUSTER_BUS_PORT\n              value: \"5702\"");
    }
  }
}
