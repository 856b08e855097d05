package io.iotmeter.deploy;

import io.iotmeter.config.ConfigOverrides;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.iotmeter.boot.NodeRole;
import io.iotmeter.support.Profiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.ByteArrayInputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No cluster runs on the build machines: the k8s/ manifests are checked here as typed
 * Kubernetes objects (fabric8's model; a misspelt field fails), with the references between them
 * resolved as kustomize and Kubernetes would — selectors, named ports, config maps from the
 * generator, secrets and their keys, service accounts, volumes — and against the platform: every
 * environment variable names a configuration key, roles and ports are real, the memory limits
 * hold the node's bounds, the stores answer at the compose profile's host names.
 */
class KubernetesManifestsTest {

  private static final Path PLATFORM = Path.of("k8s/platform");
  private static final Path BASE = Path.of("k8s/base");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  /** The objects a kustomization puts together (its resources, recursively), and the config maps it generates. */
  private record Rendered(List<HasMetadata> objects, Map<String, Set<String>> configMaps) {
    <T extends HasMetadata> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> kustomization(Path dir) throws Exception {
    return new Yaml().load(Files.readString(dir.resolve("kustomization.yaml")));
  }

  @SuppressWarnings("unchecked")
  private static Rendered render(Path dir) throws Exception {
    Map<String, Object> k = kustomization(dir);
    List<HasMetadata> objects = new ArrayList<>();
    Map<String, Set<String>> configMaps = new HashMap<>();
    for (String resource : (List<String>) k.getOrDefault("resources", List.of())) {
      Path path = dir.resolve(resource).normalize();
      if (Files.isDirectory(path)) {
        Rendered inner = render(path);
        objects.addAll(inner.objects());
        configMaps.putAll(inner.configMaps());
      } else {
        objects.addAll(parse(path));
      }
    }
    for (Map<String, Object> generator : (List<Map<String, Object>>) k.getOrDefault("configMapGenerator", List.of())) {
      Set<String> keys = new HashSet<>();
      for (String file : (List<String>) generator.get("files")) {
        assertThat(dir.resolve(file)).as("configMapGenerator file").exists();
        keys.add(Path.of(file).getFileName().toString());
      }
      configMaps.put((String) generator.get("name"), keys);
    }
    return new Rendered(objects, configMaps);
  }

  private static List<HasMetadata> parse(Path file) throws Exception {
    List<HasMetadata> objects = new ArrayList<>();
    for (Object doc : new Yaml().loadAll(Files.readString(file))) {
      if (doc == null) {
        continue;
      }
      String json = new io.vertx.core.json.JsonObject(jsonSafe(doc)).encode();
      Object parsed = SERIALIZATION.unmarshal(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
      assertThat(parsed).as(file + ": a Kubernetes object").isInstanceOf(HasMetadata.class);
      assertThat(unknownFields(parsed, "", new IdentityHashMap<>())).as(file + ": fields the Kubernetes model does not know").isEmpty();
      objects.add((HasMetadata) parsed);
    }
    return objects;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> jsonSafe(Object doc) {
    return (Map<String, Object>) doc;
  }

  /** Fields a typed object took as "additional properties": misspelt or misplaced ones. */
  private static List<String> unknownFields(Object object, String path, IdentityHashMap<Object, Boolean> seen) {
    List<String> unknown = new ArrayList<>();
    if (object == null || seen.put(object, true) != null || !object.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      if (object instanceof Collection<?> items) {
        int i = 0;
        for (Object item : items) {
          unknown.addAll(unknownFields(item, path + "[" + i++ + "]", seen));
        }
      }
      return unknown;
    }
    for (Method getter : object.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
        continue;
      }
      try {
        Object value = getter.invoke(object);
        if (getter.getName().equals("getAdditionalProperties")) {
          if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
            extra.keySet().forEach(key -> unknown.add(path + "." + key));
          }
        } else if (value != null) {
          unknown.addAll(unknownFields(value, path + "." + getter.getName().substring(3), seen));
        }
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(e);
      }
    }
    return unknown;
  }

  private static PodTemplateSpec template(HasMetadata workload) {
    if (workload instanceof Deployment d) {
      return d.getSpec().getTemplate();
    }
    if (workload instanceof StatefulSet s) {
      return s.getSpec().getTemplate();
    }
    if (workload instanceof Job j) {
      return j.getSpec().getTemplate();
    }
    return null;
  }

  private static List<HasMetadata> workloads(Rendered rendered) {
    return rendered.objects().stream().filter(o -> template(o) != null).toList();
  }

  private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && !selector.isEmpty() && labels != null && labels.entrySet().containsAll(selector.entrySet());
  }

  @Test
  void eachKustomizationListsEveryManifestOfItsFolder() throws Exception {
    for (Path dir : List.of(PLATFORM, BASE)) {
      @SuppressWarnings("unchecked")
      List<String> resources = (List<String>) kustomization(dir).get("resources");
      try (var files = Files.list(dir)) {
        List<String> manifests = files.map(p -> p.getFileName().toString())
            .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList();
        assertThat(resources).as(dir.toString()).containsAll(manifests);
      }
    }
  }

  @Test
  void theBaseHasEveryComponentTheReferenceDeploys() throws Exception {
    Rendered base = render(BASE);
    Set<String> workloads = workloads(base).stream().map(w -> w.getMetadata().getName()).collect(Collectors.toSet());
    assertThat(workloads).contains("iot-meter-ingest", "iot-meter-api", "postgres", "minio", "minio-bucket", "influxdb", "mosquitto",
        "prometheus", "kube-state-metrics", "alertmanager", "grafana");
    assertThat(base.all(PodDisruptionBudget.class)).hasSize(2);
    assertThat(base.all(NetworkPolicy.class)).isNotEmpty();
    // The stores answer at the host names of the cluster (compose) profile.
    JsonObject profile = Profiles.load("cluster");
    Set<String> services = base.all(Service.class).stream().map(s -> s.getMetadata().getName()).collect(Collectors.toSet());
    assertThat(services).contains(profile.getJsonObject("postgres").getString("host"), "minio", "influxdb", "mosquitto");
    assertThat(profile.getJsonObject("s3").getString("endpoint")).contains("//minio:");
    assertThat(profile.getJsonObject("timeseries").getJsonObject("influxdb").getString("url")).contains("//influxdb:");
  }

  @Test
  void everyReferenceResolves() throws Exception {
    for (Path dir : List.of(BASE, PLATFORM)) {
      Rendered rendered = render(dir);
      Map<String, Secret> secrets = rendered.all(Secret.class).stream().collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s));
      Set<String> accounts = rendered.objects().stream().filter(o -> o.getKind().equals("ServiceAccount"))
          .map(o -> o.getMetadata().getName()).collect(Collectors.toSet());
      for (HasMetadata workload : workloads(rendered)) {
        String name = dir + " " + workload.getKind() + "/" + workload.getMetadata().getName();
        PodSpec pod = template(workload).getSpec();
        Map<String, String> labels = template(workload).getMetadata().getLabels();
        if (workload instanceof Deployment d) {
          assertThat(selects(d.getSpec().getSelector().getMatchLabels(), labels)).as(name + ": selector").isTrue();
        }
        if (workload instanceof StatefulSet s) {
          assertThat(selects(s.getSpec().getSelector().getMatchLabels(), labels)).as(name + ": selector").isTrue();
        }
        if (pod.getServiceAccountName() != null) {
          assertThat(accounts).as(name + ": service account").contains(pod.getServiceAccountName());
        }
        Set<String> volumes = pod.getVolumes() == null ? new HashSet<>()
            : pod.getVolumes().stream().map(Volume::getName).collect(Collectors.toCollection(HashSet::new));
        if (workload instanceof StatefulSet s && s.getSpec().getVolumeClaimTemplates() != null) {
          s.getSpec().getVolumeClaimTemplates().forEach(c -> volumes.add(c.getMetadata().getName()));
        }
        for (Volume volume : pod.getVolumes() == null ? List.<Volume>of() : pod.getVolumes()) {
          if (volume.getConfigMap() != null) {
            assertThat(rendered.configMaps()).as(name + ": config map").containsKey(volume.getConfigMap().getName());
          }
        }
        List<Container> containers = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
          containers.addAll(pod.getInitContainers());
        }
        for (Container container : containers) {
          if (container.getVolumeMounts() != null) {
            container.getVolumeMounts().forEach(m -> assertThat(volumes).as(name + ": volume " + m.getName()).contains(m.getName()));
          }
          for (EnvVar env : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
            if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
              var ref = env.getValueFrom().getSecretKeyRef();
              assertThat(secrets).as(name + ": secret " + ref.getName()).containsKey(ref.getName());
              assertThat(secrets.get(ref.getName()).getStringData()).as(name + ": key " + ref.getKey()).containsKey(ref.getKey());
            }
          }
          if (container.getEnvFrom() != null) {
            container.getEnvFrom().forEach(e -> assertThat(secrets).as(name + ": envFrom").containsKey(e.getSecretRef().getName()));
          }
          assertThat(container.getResources()).as(name + ": " + container.getName() + " resources").isNotNull();
          assertThat(container.getResources().getLimits()).as(name + ": memory limit").containsKey("memory");
          if (pod.getInitContainers() == null || !pod.getInitContainers().contains(container)) {
            if (!(workload instanceof Job)) {
              assertThat(container.getReadinessProbe()).as(name + ": readiness probe").isNotNull();
              assertThat(container.getLivenessProbe()).as(name + ": liveness probe").isNotNull();
            }
          }
        }
      }
      for (Service service : rendered.all(Service.class)) {
        Map<String, String> selector = service.getSpec().getSelector();
        List<HasMetadata> selected = workloads(rendered).stream().filter(w -> selects(selector, template(w).getMetadata().getLabels()))
            .toList();
        assertThat(selected).as(dir + " Service/" + service.getMetadata().getName() + " selects a workload").isNotEmpty();
        Set<String> named = selected.stream().flatMap(w -> template(w).getSpec().getContainers().stream())
            .flatMap(c -> c.getPorts() == null ? java.util.stream.Stream.<ContainerPort>empty() : c.getPorts().stream())
            .flatMap(p -> java.util.stream.Stream.of(p.getName(), String.valueOf(p.getContainerPort()))).collect(Collectors.toSet());
        for (ServicePort port : service.getSpec().getPorts()) {
          String target = port.getTargetPort() == null ? String.valueOf(port.getPort())
              : port.getTargetPort().getStrVal() != null ? port.getTargetPort().getStrVal() : String.valueOf(port.getTargetPort().getIntVal());
          assertThat(named).as(dir + " Service/" + service.getMetadata().getName() + " port " + target).contains(target);
        }
      }
      for (PodDisruptionBudget pdb : rendered.all(PodDisruptionBudget.class)) {
        assertThat(workloads(rendered).stream().anyMatch(w -> selects(pdb.getSpec().getSelector().getMatchLabels(),
            template(w).getMetadata().getLabels()))).as("PDB " + pdb.getMetadata().getName()).isTrue();
      }
      List<Subject> subjects = new ArrayList<>();
      rendered.all(RoleBinding.class).forEach(b -> subjects.addAll(b.getSubjects()));
      rendered.all(ClusterRoleBinding.class).forEach(b -> subjects.addAll(b.getSubjects()));
      subjects.forEach(s -> assertThat(accounts).as("binding subject " + s.getName()).contains(s.getName()));
    }
  }

  @Test
  void configFilesAreTheOnesDockerUses() throws Exception {
    Map<String, String> copies = Map.of(
        "config/grafana/dashboards/platform-overview.json", "docker/grafana/dashboards/platform-overview.json",
        "config/grafana/dashboards/fleet.json", "docker/grafana/dashboards/fleet.json",
        "config/grafana/provisioning/datasources/datasources.yml", "docker/grafana/provisioning/datasources/datasources.yml",
        "config/grafana/provisioning/dashboards/dashboards.yml", "docker/grafana/provisioning/dashboards/dashboards.yml",
        "config/prometheus/rules/iot-meter.rules.yml", "docker/prometheus/rules/iot-meter.rules.yml",
        "config/alertmanager/alertmanager.yml", "docker/alertmanager/alertmanager.yml",
        "config/mosquitto/mosquitto.conf", "docker/mosquitto/mosquitto.conf",
        "config/mosquitto/dynamic-security.json", "docker/mosquitto/dynamic-security.json");
    copies.forEach((copy, original) -> {
      try {
        assertThat(Files.readString(BASE.resolve(copy))).as(copy + " = " + original).isEqualTo(Files.readString(Path.of(original)));
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  @SuppressWarnings("unchecked")
  void prometheusFindsThePlatformPodsAndItsPeers() throws Exception {
    Map<String, Object> config = new Yaml().load(Files.readString(BASE.resolve("config/prometheus/prometheus.yml")));
    List<Map<String, Object>> jobs = (List<Map<String, Object>>) config.get("scrape_configs");
    assertThat(jobs.stream().map(j -> j.get("job_name"))).contains("iot-meter", "kube-state-metrics");
    assertThat(jobs.get(0)).containsKey("kubernetes_sd_configs");
    Rendered base = render(BASE);
    for (String workload : List.of("iot-meter-ingest", "iot-meter-api")) {
      HasMetadata w = workloads(base).stream().filter(o -> o.getMetadata().getName().equals(workload)).findFirst().orElseThrow();
      Map<String, String> annotations = template(w).getMetadata().getAnnotations();
      assertThat(annotations).containsEntry("prometheus.io/scrape", "true");
      int port = Integer.parseInt(annotations.get("prometheus.io/port"));
      assertThat(template(w).getSpec().getContainers().get(0).getPorts().stream().map(ContainerPort::getContainerPort)).contains(port);
    }
    HasMetadata prometheus = workloads(base).stream().filter(o -> o.getMetadata().getName().equals("prometheus")).findFirst().orElseThrow();
    assertThat(template(prometheus).getSpec().getContainers().get(0).getArgs())
        .contains("--storage.tsdb.retention.time=90d", "--web.enable-otlp-receiver");
  }

  @Test
  @SuppressWarnings("unchecked")
  void overlaysPatchObjectsTheyInclude() throws Exception {
    Collection<String> variables = ConfigOverrides.variables(Profiles.load("cluster")).values();
    for (Path overlay : List.of(Path.of("k8s/overlays/production"), Path.of("k8s/overlays/external-stores"))) {
      Rendered rendered = render(overlay);
      Set<String> included = rendered.objects().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).collect(Collectors.toSet());
      for (Map<String, Object> patch : (List<Map<String, Object>>) kustomization(overlay).get("patches")) {
        for (HasMetadata target : parse(overlay.resolve((String) patch.get("path")))) {
          assertThat(included).as(overlay + " patches " + target.getKind() + "/" + target.getMetadata().getName())
              .contains(target.getKind() + "/" + target.getMetadata().getName());
          PodTemplateSpec template = template(target);
          if (template != null) {
            template.getSpec().getContainers().forEach(c -> c.getEnv().forEach(e ->
                assertThat(variables).as(overlay + ": " + e.getName()).contains(e.getName())));
          }
        }
      }
    }
    assertThat(render(Path.of("k8s/overlays/external-stores")).objects().stream().map(o -> o.getMetadata().getName()))
        .as("the platform only").doesNotContain("postgres", "minio", "influxdb", "mosquitto");
  }

  @Test
  void platformContainersUseRealRolesPortsAndConfigurationVariables() throws Exception {
    Collection<String> variables = ConfigOverrides.variables(Profiles.load("cluster")).values();
    Rendered platform = render(PLATFORM);
    platform.all(Secret.class).forEach(s -> s.getStringData().keySet().forEach(v -> assertThat(variables).as("secret " + v).contains(v)));
    int containers = 0;
    for (HasMetadata workload : workloads(platform)) {
      for (Container container : template(workload).getSpec().getContainers()) {
        containers++;
        List<String> args = container.getArgs();
        assertThat(args).containsSequence("--profile", "cluster");
        String roles = args.get(args.indexOf("--role") + 1);
        for (String role : roles.split(",")) {
          assertThat(NodeRole.names()).contains(role);
        }
        container.getEnv().forEach(env -> assertThat(variables).as(workload.getMetadata().getName() + ": " + env.getName())
            .contains(env.getName()));
        List<Integer> ports = container.getPorts().stream().map(ContainerPort::getContainerPort).toList();
        assertThat(ports).contains(5701, 5702);
        assertThat(ports).containsAnyOf(8080, 8081);
        assertThat(container.getStartupProbe()).as("startup probe").isNotNull();
        // The heap (a share of the memory limit) holds the bounds of what this role deploys.
        String limit = container.getResources().getLimits().get("memory").toString();
        long heap = (long) (DockerFilesTest.memory(limit) * DockerFilesTest.heapShare());
        JsonObject node = Profiles.load("cluster").put("roles", new io.vertx.core.json.JsonArray(List.of(roles.split(","))));
        long budget = io.iotmeter.boot.MemoryBudget.bytes(node);
        assertThat(heap).as("%s: heap of a %s node vs its bounds (%d MiB)", workload.getMetadata().getName(), roles, budget >> 20)
            .isGreaterThanOrEqualTo(budget);
      }
    }
    assertThat(containers).isEqualTo(2);
  }

  /** Secure as shipped: every platform pod runs the bus with the cluster profile's TLS files and the cluster secret. */
  @Test
  void platformPodsMountTheClusterCertificatesWhereTheProfileReadsThem() throws Exception {
    Rendered platform = render(PLATFORM);
    io.iotmeter.config.Settings tls = io.iotmeter.config.Settings.of(Profiles.load("cluster"), "cluster.tls");
    assertThat(tls.flag("enabled")).isTrue();
    String dir = Path.of(tls.text("cert_path")).getParent().toString();
    assertThat(Path.of(tls.text("key_path")).getParent().toString()).isEqualTo(dir);
    assertThat(Path.of(tls.text("ca_path")).getParent().toString()).isEqualTo(dir);
    assertThat(platform.all(Secret.class).stream().flatMap(s -> s.getStringData().keySet().stream())).contains("IOT_CLUSTER_SECRET");
    for (HasMetadata workload : workloads(platform)) {
      PodTemplateSpec template = template(workload);
      String volume = template.getSpec().getVolumes().stream()
          .filter(v -> v.getSecret() != null && "iot-meter-cluster-tls".equals(v.getSecret().getSecretName()))
          .map(Volume::getName).findFirst().orElseThrow(() -> new AssertionError(workload.getMetadata().getName() + ": no cluster-tls volume"));
      assertThat(template.getSpec().getContainers().get(0).getVolumeMounts())
          .anyMatch(m -> m.getName().equals(volume) && m.getMountPath().equals(dir) && Boolean.TRUE.equals(m.getReadOnly()));
    }
  }

  @Test
  void onlyPlatformPodsReachTheClusterPorts() throws Exception {
    Rendered platform = render(PLATFORM);
    NetworkPolicy policy = platform.all(NetworkPolicy.class).get(0);
    Map<String, String> platformPods = Map.of("app.kubernetes.io/part-of", "iot-meter");
    assertThat(policy.getSpec().getPodSelector().getMatchLabels()).isEqualTo(platformPods);
    for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
      List<Integer> ports = rule.getPorts().stream().map(p -> p.getPort().getIntVal()).toList();
      if (ports.contains(5701) || ports.contains(5702)) {
        assertThat(rule.getFrom()).as("the cluster ports' rule names its peers").hasSize(1);
        assertThat(rule.getFrom().get(0).getPodSelector().getMatchLabels()).isEqualTo(platformPods);
      }
    }
    // The bus port the policy names is the one the pods use.
    for (HasMetadata workload : workloads(platform)) {
      assertThat(template(workload).getSpec().getContainers().get(0).getEnv().stream()
          .filter(e -> e.getName().equals("IOT_CLUSTER_BUS_PORT")).map(EnvVar::getValue)).containsExactly("5702");
    }
  }
}
