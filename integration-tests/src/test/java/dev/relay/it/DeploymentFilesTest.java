package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.config.TlsMode;
import dev.relay.server.setup.DemoSetup;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment files (Dockerfile, deploy/): they parse, they wire the ports, paths, files and probes the relay
 * really uses, the relay configurations they carry load, and the dashboard shows metrics the relay really serves.
 * Docker and Kubernetes cannot run here; everything short of them is checked.
 */
class DeploymentFilesTest {
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ROOT = projectRoot();
    private static final Path DEPLOY = ROOT.resolve("deploy");
    private static final Pattern METRIC_IN_SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{");
    private static final Pattern METRIC_IN_LABEL_VALUES = Pattern.compile("label_values\\(([a-zA-Z_:][a-zA-Z0-9_:]*)");

    @TempDir
    Path tmp;

    private static Path projectRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy")) && Files.isRegularFile(p.resolve("Dockerfile"))) {
                return p;
            }
        }
        throw new IllegalStateException("no project root with deploy/ and Dockerfile above "
                + Path.of("").toAbsolutePath());
    }

    // ---------------------------------------------------------------- YAML

    @Test
    void everyYamlFileUnderDeployParsesAndEveryManifestNamesItsKind() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(DEPLOY)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(12);
        for (Path file : files) {
            List<JsonNode> docs = documents(file);
            assertThat(docs).as(file.toString()).isNotEmpty();
            for (JsonNode doc : docs) {
                assertThat(doc.isObject()).as("%s: every document is a mapping", file).isTrue();
                assertThat(doc.path("apiVersion").asText()).as("%s apiVersion", file).isNotBlank();
                String kind = doc.path("kind").asText();
                assertThat(kind).as("%s kind", file).isNotBlank();
                if (kind.equals("Kustomization")) {
                    for (JsonNode resource : doc.path("resources")) {
                        assertThat(file.resolveSibling(resource.asText())).as("%s lists %s", file, resource)
                                .isRegularFile();
                    }
                } else {
                    assertThat(doc.path("metadata").path("name").asText()).as("%s %s name", file, kind).isNotBlank();
                }
            }
        }
    }

    // ---------------------------------------------------------------- sidecar, run for real

    @Test
    void sidecarConfigurationRelaysMailFromTheAppWithoutCredentialsAndServesWhatTheProbesAndDashboardUse()
            throws Exception {
        Path dir = DEPLOY.resolve("kubernetes/sidecar");
        JsonNode deployment = only(dir.resolve("deployment.yaml"), "Deployment");
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        JsonNode relay = container(pod, "relay");
        JsonNode app = container(pod, "app");
        JsonNode configMap = only(dir.resolve("relay-configmap.yaml"), "ConfigMap");
        JsonNode secret = only(dir.resolve("smarthost-secret.yaml"), "Secret");

        Path configPath = configPath(relay);
        String relayYaml = configMapFile(pod, relay, configMap, configPath);
        JsonNode raw = YAML.readTree(relayYaml);
        Path configFile = Files.writeString(tmp.resolve("sidecar-relay.yaml"), relayYaml);
        Map<String, String> containerEnv = env(relay);

        // as written (only the secret made real): loopback listener without TLS, trusted loopback, no users
        Path passwordFile = Path.of(raw.path("upstreams").get(0).path("password-file").asText());
        Map<String, String> asWritten = new HashMap<>(containerEnv);
        asWritten.put("RELAY_UPSTREAMS_0_PASSWORD_FILE", Files.writeString(tmp.resolve("pw"), "x\n").toString());
        RelayConfig config = ConfigLoader.load(configFile, asWritten).config();
        assertThat(config.listeners()).singleElement().satisfies(l -> {
            assertThat(l.tls()).isEqualTo(TlsMode.NONE);
            assertThat(l.bind().isLoopback()).isTrue();
            assertThat(app.toString()).contains("\"" + l.bind().host() + "\"", "\"" + l.bind().port() + "\"");
        });
        assertThat(config.auth().usersFile()).isNull();
        assertThat(config.auth().trustedNetworks()).hasToString("[127.0.0.1/32]");
        assertMountedFromSecret(pod, relay, passwordFile, secret);
        assertThat(mountPaths(relay)).contains(config.spool().dir().toString());
        assertProbes(relay, config.admin().bind().port());
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(preStopSeconds(relay) + preStopSeconds(app) + graceSeconds(relay));

        // run it: the same file, ports and files moved to the test's, the capture sink as the smarthost
        DemoSetup demo = DemoSetup.prepare(tmp.resolve("demo"), new DemoSetup.Ports(Loopback.freePort(),
                Loopback.freePort(), Loopback.freePort(), Loopback.freePort()));
        int listenerPort = Loopback.freePort();
        int adminPort = Loopback.freePort();
        String sinkUrl = demo.config().upstreams().get(0).url().toString();
        Map<String, String> env = new HashMap<>(containerEnv);
        env.put("RELAY_LISTENERS_0_BIND", "127.0.0.1:" + listenerPort);
        env.put("RELAY_SPOOL_DIR", tmp.resolve("spool").toString());
        env.put("RELAY_UPSTREAMS_0_URL", sinkUrl);
        env.put("RELAY_UPSTREAMS_0_PASSWORD_FILE", tmp.resolve("demo/sink-password").toString());
        env.put("RELAY_UPSTREAMS_0_TRUST", demo.config().tls().cert().toString());
        env.put("RELAY_ADMIN_BIND", "127.0.0.1:" + adminPort);
        RelayConfig running = ConfigLoader.load(configFile, env).config();

        try (CaptureSink sink = demo.startSink(); RelayServer server = RelayServer.start(running)) {
            submitWithoutTlsOrAuth(listenerPort);
            await().atMost(Duration.ofSeconds(15)).until(() -> emlFiles(demo.outbox()).size() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.queue().queued() == 0);

            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + adminPort;
            for (String path : List.of("/healthz", "/readyz")) {
                assertThat(get(http, base + path).statusCode()).as(path).isEqualTo(200);
            }
            assertThat(get(http, base + "/readyz").body()).contains("\"ready\":true");
            dockerHealthcheckPasses(adminPort);

            Set<String> dashboard = dashboardMetrics();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                String scrape = get(http, base + "/metrics").body();
                assertThat(scrape).contains("relay_messages_delivered_total 1.0");
                for (String metric : dashboard) {
                    assertThat(scrape).as("the dashboard's %s in a real scrape", metric)
                            .containsPattern("(?m)^" + Pattern.quote(metric) + "[{ ]");
                }
            });
        }
    }

    private static void submitWithoutTlsOrAuth(int port) throws Exception {
        Properties p = new Properties();
        p.put("mail.smtp.host", Loopback.HOST);
        p.put("mail.smtp.port", Integer.toString(port));
        p.put("mail.smtp.auth", "false");
        p.put("mail.smtp.connectiontimeout", "5000");
        p.put("mail.smtp.timeout", "10000");
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress("app@example.com"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress("user@example.com"));
        m.setSubject("from the app container");
        m.setText("hello");
        Transport.send(m);
    }

    /** Runs the Dockerfile's HEALTHCHECK command (bash /dev/tcp, no curl) against the admin port. */
    private static void dockerHealthcheckPasses(int adminPort) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "no bash");
        Matcher m = Pattern.compile("(?m)^HEALTHCHECK .*?CMD (\\[.*])$", Pattern.DOTALL)
                .matcher(Files.readString(ROOT.resolve("Dockerfile")).replace("\\\n", " "));
        assertThat(m.find()).as("a HEALTHCHECK ... CMD [...] in the Dockerfile").isTrue();
        List<String> command = new ArrayList<>();
        JSON.readTree(m.group(1)).forEach(n -> command.add(n.asText().replace("/9090", "/" + adminPort)));
        assertThat(String.join(" ", command)).contains("/healthz");
        Process healthcheck = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(healthcheck.getInputStream().readAllBytes());
        assertThat(healthcheck.waitFor()).as("healthcheck said: %s", output).isZero();
    }

    // ---------------------------------------------------------------- shared relay

    @Test
    void sharedRelayConfigurationLoadsAndItsManifestsWirePortsSecretsSpoolProbesAndMonitoring() throws Exception {
        Path dir = DEPLOY.resolve("kubernetes/shared");
        JsonNode statefulSet = only(dir.resolve("statefulset.yaml"), "StatefulSet");
        JsonNode pod = statefulSet.path("spec").path("template").path("spec");
        JsonNode relay = container(pod, "relay");
        JsonNode configMap = only(dir.resolve("relay-configmap.yaml"), "ConfigMap");
        Path configPath = configPath(relay);
        String relayYaml = configMapFile(pod, relay, configMap, configPath);
        JsonNode raw = YAML.readTree(relayYaml);
        Path passwordFile = Path.of(raw.path("upstreams").get(0).path("password-file").asText());

        Map<String, String> env = new HashMap<>(env(relay));
        env.put("RELAY_UPSTREAMS_0_PASSWORD_FILE", Files.writeString(tmp.resolve("pw"), "x\n").toString());
        Path handoffPasswordFile = Path.of(raw.path("handoff").path("password-file").asText());
        env.put("RELAY_HANDOFF_PASSWORD_FILE", Files.writeString(tmp.resolve("handoff-pw"), "y\n").toString());
        env.put("RELAY_CLUSTER_PASSWORD", "x"); // from a Secret: checked below
        RelayConfig config = ConfigLoader.load(Files.writeString(tmp.resolve("relay.yaml"), relayYaml), env).config();

        // the replicas share their rate limits in PostgreSQL; the database password comes from a Secret
        assertThat(config.cluster().enabled()).isTrue();
        assertThat(config.cluster().expectedReplicas()).isEqualTo(statefulSet.path("spec").path("replicas").asInt());
        JsonNode dbPassword = null;
        for (JsonNode e : relay.path("env")) {
            if (e.path("name").asText().equals("RELAY_CLUSTER_PASSWORD")) {
                dbPassword = e.path("valueFrom").path("secretKeyRef");
            }
        }
        assertThat(dbPassword).as("RELAY_CLUSTER_PASSWORD from a secretKeyRef").isNotNull();
        JsonNode dbSecret = only(dir.resolve("cluster-db-secret.yaml"), "Secret");
        assertThat(dbPassword.path("name").asText()).isEqualTo(dbSecret.path("metadata").path("name").asText());
        assertThat(dbSecret.path("stringData").has(dbPassword.path("key").asText())).isTrue();

        // listeners: on the container ports the Service maps 587/465 onto
        Map<String, Integer> containerPorts = new LinkedHashMap<>();
        relay.path("ports").forEach(p -> containerPorts.put(p.path("name").asText(), p.path("containerPort").asInt()));
        assertThat(config.listeners()).extracting(l -> l.bind().port())
                .containsExactlyInAnyOrder(containerPorts.get("submission"), containerPorts.get("submissions"));
        assertThat(config.listeners()).allSatisfy(l -> assertThat(l.tls()).isNotEqualTo(TlsMode.NONE));
        assertThat(containerPorts.get("admin")).isEqualTo(config.admin().bind().port());
        JsonNode service = named(documents(dir.resolve("service.yaml")), "Service", "relay");
        Map<Integer, String> servicePorts = new LinkedHashMap<>();
        service.path("spec").path("ports").forEach(p -> servicePorts.put(p.path("port").asInt(),
                p.path("targetPort").asText()));
        assertThat(servicePorts).containsEntry(587, "submission").containsEntry(465, "submissions");
        assertThat(containerPorts).containsKeys(servicePorts.values().toArray(String[]::new));
        assertSelects(service.path("spec").path("selector"),
                statefulSet.path("spec").path("template").path("metadata").path("labels"));
        assertThat(statefulSet.path("spec").path("serviceName").asText()).isIn(
                documents(dir.resolve("service.yaml")).stream().map(d -> d.path("metadata").path("name").asText())
                        .toList());

        // secrets as files: TLS in cert-manager's names, users file, smarthost password
        JsonNode tlsVolume = volumeFor(pod, relay, config.tls().cert());
        assertThat(config.tls().cert().getFileName()).hasToString("tls.crt");
        assertThat(config.tls().key().getFileName()).hasToString("tls.key");
        assertThat(volumeFor(pod, relay, config.tls().key())).isEqualTo(tlsVolume);
        JsonNode certificate = only(dir.resolve("certificate.yaml"), "Certificate");
        assertThat(certificate.path("spec").path("secretName").asText())
                .isEqualTo(tlsVolume.path("secret").path("secretName").asText());
        assertThat(volumeFor(pod, relay, config.auth().usersFile()).path("secret").path("secretName").asText())
                .isNotBlank();
        assertMountedFromSecret(pod, relay, passwordFile, only(dir.resolve("smarthost-secret.yaml"), "Secret"));

        // spool: the replica's own claim
        String spoolVolume = mountNameAt(relay, config.spool().dir().toString());
        assertThat(statefulSet.path("spec").path("volumeClaimTemplates")).anySatisfy(t ->
                assertThat(t.path("metadata").path("name").asText()).isEqualTo(spoolVolume));

        assertProbes(relay, config.admin().bind().port());
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(preStopSeconds(relay) + graceSeconds(relay) + config.handoff().timeout().toSeconds());

        // hand-off on scale-down: to the Service's implicit-TLS port, whose name the certificate carries, with the
        // password from a Secret; the claims are kept (a message the peers refuse stays on the claim)
        assertThat(config.handoff().enabled()).isTrue();
        assertThat(config.handoff().tls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(config.handoff().to().host()).startsWith(service.path("metadata").path("name").asText() + ".");
        assertThat(servicePorts.get(config.handoff().to().port())).isEqualTo("submissions");
        assertThat(config.listeners()).filteredOn(l -> l.bind().port() == containerPorts.get("submissions"))
                .singleElement().satisfies(l -> assertThat(l.tls()).isEqualTo(TlsMode.IMPLICIT));
        assertThat(certificate.path("spec").path("dnsNames")).extracting(JsonNode::asText)
                .contains(config.handoff().to().host());
        assertMountedFromSecret(pod, relay, handoffPasswordFile, only(dir.resolve("smarthost-secret.yaml"), "Secret"));
        assertThat(statefulSet.path("spec").path("persistentVolumeClaimRetentionPolicy").path("whenScaled").asText())
                .isEqualTo("Retain");

        // PDB and ServiceMonitor select the relay's pods and its Service's metrics port
        JsonNode podLabels = statefulSet.path("spec").path("template").path("metadata").path("labels");
        JsonNode pdb = only(dir.resolve("poddisruptionbudget.yaml"), "PodDisruptionBudget");
        assertSelects(pdb.path("spec").path("selector").path("matchLabels"), podLabels);
        JsonNode monitor = only(dir.resolve("servicemonitor.yaml"), "ServiceMonitor");
        assertSelects(monitor.path("spec").path("selector").path("matchLabels"),
                service.path("metadata").path("labels"));
        String metricsPort = monitor.path("spec").path("endpoints").get(0).path("port").asText();
        assertThat(service.path("spec").path("ports")).anySatisfy(p -> {
            assertThat(p.path("name").asText()).isEqualTo(metricsPort);
            assertThat(p.path("targetPort").asText()).isEqualTo("admin");
        });
        assertThat(monitor.path("spec").path("endpoints").get(0).path("path").asText()).isEqualTo("/metrics");
    }

    // ---------------------------------------------------------------- dashboard, image, systemd

    @Test
    void dashboardUsesOnlyDocumentedMetricsAndAPrometheusDatasourceVariable() throws IOException {
        JsonNode dashboard = JSON.readTree(DEPLOY.resolve("grafana/relay-dashboard.json").toFile());
        assertThat(dashboard.path("templating").path("list")).anySatisfy(v -> {
            assertThat(v.path("name").asText()).isEqualTo("datasource");
            assertThat(v.path("type").asText()).isEqualTo("datasource");
            assertThat(v.path("query").asText()).isEqualTo("prometheus");
        });
        assertThat(dashboard.findValues("datasource")).allSatisfy(ds -> {
            if (ds.isObject()) {
                assertThat(ds.path("uid").asText()).isEqualTo("${datasource}");
            }
        });
        Set<String> metrics = dashboardMetrics();
        assertThat(metrics).contains("relay_messages_received_total", "relay_messages_delivered_total",
                "relay_messages_deferred_total", "relay_messages_failed_total", "relay_queue_messages",
                "relay_delivery_end_to_end_seconds_bucket", "jvm_memory_used_bytes", "process_cpu_usage");
        String catalogue = Files.readString(ROOT.resolve("docs/metrics.md"));
        for (String metric : metrics) {
            String family = metric.replaceAll("_(bucket|sum|count)$", "");
            String prefix = metric.substring(0, metric.indexOf('_') + 1);
            assertThat(catalogue.contains("`" + metric + "`") || catalogue.contains("`" + family + "`")
                    || catalogue.contains("`" + family + "{") // documented with its labels
                    || (!prefix.equals("relay_") && catalogue.contains("`" + prefix + "*`")))
                    .as("%s is in docs/metrics.md", metric).isTrue();
        }
    }

    @Test
    void dockerImageRunsTheInstalledLayoutWithValidEnvironmentAndTheAdminPortItChecks() throws IOException {
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        String launcher = Files.readString(ROOT.resolve("bin/relay"));
        assertThat(launcher).contains("$here/lib/relay-server.jar");
        assertThat(dockerfile).contains("COPY --chmod=0755 bin/relay /opt/relay/bin/relay",
                "/opt/relay/lib/relay-server.jar", "ENTRYPOINT [\"/opt/relay/bin/relay\"]",
                "CMD [\"serve\", \"--config\", \"/etc/relay/relay.yaml\"]", "STOPSIGNAL SIGTERM",
                "VOLUME [\"/var/spool/relay\"]", "EXPOSE 587 465 9090", "/dev/tcp/127.0.0.1/9090", "GET /healthz");
        assertThat(dockerfile).containsPattern("(?m)^USER [a-z]+");
        Matcher env = Pattern.compile("(RELAY_[A-Z0-9_]+)=(\"[^\"]*\"|\\S+)").matcher(dockerfile);
        Map<String, String> variables = new HashMap<>();
        while (env.find()) {
            variables.put(env.group(1), env.group(2).replace("\"", ""));
        }
        assertThat(variables).containsEntry("RELAY_ADMIN_BIND", "0.0.0.0:9090");
        variables.forEach((name, value) -> assertThat(ConfigLoader.NON_CONFIG_VARIABLES.contains(name)
                || ConfigLoader.hasEnvironmentConfig(Map.of(name, value))).as("%s is a known variable", name).isTrue());

        // the documented `docker run -e RELAY_... relay serve` (environment alone) is a valid configuration
        Matcher run = Pattern.compile("-e (RELAY_[A-Z0-9_]+)=(\\S+)")
                .matcher(Files.readString(DEPLOY.resolve("README.md")));
        Map<String, String> runEnv = new HashMap<>(variables);
        while (run.find()) {
            runEnv.put(run.group(1), run.group(2));
        }
        assertThat(runEnv).containsKeys("RELAY_UPSTREAMS_0_URL", "RELAY_UPSTREAMS_0_PASSWORD_FILE", "RELAY_SPOOL_DIR");
        runEnv.put("RELAY_UPSTREAMS_0_PASSWORD_FILE", Files.writeString(tmp.resolve("pw"), "x\n").toString());
        RelayConfig fromEnv = ConfigLoader.load(null, runEnv).config();
        assertThat(fromEnv.listeners()).extracting(l -> l.bind().port()).containsExactly(587);
        assertThat(fromEnv.admin().bind().port()).isEqualTo(9090);

        String ignore = Files.readString(ROOT.resolve(".dockerignore"));
        assertThat(ignore.lines()).contains(".git", "**/target/", "relay-data/");
    }

    @Test
    void systemdUnitStopsWithSigtermAfterTheGraceAndMayOnlyWriteTheSpool() throws IOException {
        Map<String, String> unit = new HashMap<>();
        Map<String, String> environment = new HashMap<>();
        for (String line : Files.readAllLines(DEPLOY.resolve("systemd/relay.service"))) {
            int eq = line.indexOf('=');
            if (!line.startsWith("#") && eq > 0) {
                unit.put(line.substring(0, eq), line.substring(eq + 1));
                if (line.startsWith("Environment=")) {
                    String v = line.substring(eq + 1);
                    environment.put(v.substring(0, v.indexOf('=')), v.substring(v.indexOf('=') + 1));
                }
            }
        }
        // the unit's variables are the launcher's: none of them is read as a configuration key
        assertThat(environment).containsKey("RELAY_CDS_DIR");
        assertThat(dev.relay.server.setup.ConfigSource.hasRelayVariables(environment)).isFalse();
        assertThat(unit.get("ExecStart")).startsWith("/opt/relay/bin/relay serve --config /etc/relay/relay.yaml");
        Matcher grace = Pattern.compile("--grace (PT\\S+)").matcher(unit.get("ExecStart"));
        long graceSeconds = grace.find() ? Duration.parse(grace.group(1)).toSeconds() : 20;
        assertThat(unit).containsEntry("KillSignal", "SIGTERM").containsEntry("NoNewPrivileges", "yes")
                .containsEntry("ProtectSystem", "strict").containsEntry("ReadWritePaths", "/var/spool/relay")
                .containsEntry("AmbientCapabilities", "CAP_NET_BIND_SERVICE").containsEntry("User", "relay")
                .containsEntry("CacheDirectory", "relay"); // the class-data archive: RELAY_CDS_DIR=/var/cache/relay
        assertThat(Long.parseLong(unit.get("TimeoutStopSec"))).isGreaterThan(graceSeconds);
    }

    // ---------------------------------------------------------------- helpers

    private static List<JsonNode> documents(Path file) throws IOException {
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
            return it.readAll().stream().filter(d -> d != null && !d.isMissingNode() && !d.isNull()).toList();
        }
    }

    private static JsonNode only(Path file, String kind) throws IOException {
        List<JsonNode> docs = documents(file).stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
        assertThat(docs).as("one %s in %s", kind, file).hasSize(1);
        return docs.get(0);
    }

    private static JsonNode named(List<JsonNode> docs, String kind, String name) {
        return docs.stream().filter(d -> d.path("kind").asText().equals(kind)
                        && d.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    private static JsonNode container(JsonNode pod, String name) {
        List<JsonNode> all = new ArrayList<>();
        pod.path("initContainers").forEach(all::add);
        pod.path("containers").forEach(all::add);
        return all.stream().filter(c -> c.path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    private static Map<String, String> env(JsonNode container) {
        Map<String, String> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        return env;
    }

    private static List<String> args(JsonNode container) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        return args;
    }

    private static Path configPath(JsonNode container) {
        List<String> args = args(container);
        assertThat(args).startsWith("serve").contains("--config");
        return Path.of(args.get(args.indexOf("--config") + 1));
    }

    private static long graceSeconds(JsonNode container) {
        List<String> args = args(container);
        return args.contains("--grace") ? Duration.parse(args.get(args.indexOf("--grace") + 1)).toSeconds() : 20;
    }

    private static int preStopSeconds(JsonNode container) {
        JsonNode preStop = container.path("lifecycle").path("preStop");
        if (preStop.has("sleep")) {
            return preStop.path("sleep").path("seconds").asInt();
        }
        JsonNode command = preStop.path("exec").path("command");
        assertThat(command.get(0).asText()).isEqualTo("sleep");
        return command.get(1).asInt();
    }

    private static List<String> mountPaths(JsonNode container) {
        List<String> paths = new ArrayList<>();
        container.path("volumeMounts").forEach(m -> paths.add(m.path("mountPath").asText()));
        return paths;
    }

    private static String mountNameAt(JsonNode container, String mountPath) {
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(mountPath)) {
                return m.path("name").asText();
            }
        }
        throw new AssertionError("nothing mounted at " + mountPath);
    }

    /** The pod volume mounted at the file's directory. */
    private static JsonNode volumeFor(JsonNode pod, JsonNode container, Path file) {
        String name = mountNameAt(container, file.getParent().toString());
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    /** The ConfigMap is mounted at the --config file's directory and has that file as a key. */
    private static String configMapFile(JsonNode pod, JsonNode container, JsonNode configMap, Path configPath) {
        JsonNode volume = volumeFor(pod, container, configPath);
        assertThat(volume.path("configMap").path("name").asText())
                .isEqualTo(configMap.path("metadata").path("name").asText());
        String text = configMap.path("data").path(configPath.getFileName().toString()).asText();
        assertThat(text).as("ConfigMap key %s", configPath.getFileName()).isNotBlank();
        return text;
    }

    private static void assertMountedFromSecret(JsonNode pod, JsonNode container, Path file, JsonNode secret) {
        JsonNode volume = volumeFor(pod, container, file);
        assertThat(volume.path("secret").path("secretName").asText())
                .isEqualTo(secret.path("metadata").path("name").asText());
        String key = file.getFileName().toString();
        assertThat(secret.path("stringData").has(key) || secret.path("data").has(key))
                .as("Secret %s has the key %s", secret.path("metadata").path("name").asText(), key).isTrue();
    }

    /** Liveness on /healthz, readiness on /readyz, both on the admin port (by number or by the port's name). */
    private static void assertProbes(JsonNode container, int adminPort) {
        Map<String, Integer> ports = new HashMap<>();
        container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
        Map<String, String> expected = Map.of("livenessProbe", "/healthz", "readinessProbe", "/readyz");
        expected.forEach((probe, path) -> {
            JsonNode get = container.path(probe).path("httpGet");
            assertThat(get.path("path").asText()).as(probe).isEqualTo(path);
            JsonNode port = get.path("port");
            assertThat(port.isInt() ? port.asInt() : ports.get(port.asText())).as("%s port", probe)
                    .isEqualTo(adminPort);
        });
        JsonNode startup = container.path("startupProbe").path("httpGet");
        assertThat(startup.path("path").asText()).isIn("/healthz", "/readyz");
    }

    private static void assertSelects(JsonNode selector, JsonNode labels) {
        assertThat(selector.size()).isPositive();
        selector.fields().forEachRemaining(e -> assertThat(labels.path(e.getKey()).asText())
                .as("label %s", e.getKey()).isEqualTo(e.getValue().asText()));
    }

    private static Set<String> dashboardMetrics() throws IOException {
        JsonNode dashboard = JSON.readTree(DEPLOY.resolve("grafana/relay-dashboard.json").toFile());
        Set<String> metrics = new TreeSet<>();
        for (JsonNode expr : dashboard.findValues("expr")) {
            Matcher m = METRIC_IN_SELECTOR.matcher(expr.asText());
            while (m.find()) {
                metrics.add(m.group(1));
            }
        }
        for (JsonNode query : dashboard.findValues("definition")) {
            Matcher m = METRIC_IN_LABEL_VALUES.matcher(query.asText());
            while (m.find()) {
                metrics.add(m.group(1));
            }
        }
        return metrics;
    }

    private static List<Path> emlFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".eml")).toList();
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
