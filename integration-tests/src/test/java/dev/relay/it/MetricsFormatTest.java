package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.server.setup.DemoSetup;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} after real traffic (a delivery, a refused AUTH) follows the Prometheus exposition rules: checked
 * by {@code promtool check metrics} where it is installed (CI installs it), and always by {@link PrometheusTextLint}.
 */
class MetricsFormatTest {
    @TempDir
    static Path dataDir;

    static CaptureSink sink;
    static RelayServer relay;
    static String metrics;

    @BeforeAll
    static void deliverAndScrape() throws Exception {
        DemoSetup.Ports ports = new DemoSetup.Ports(Loopback.freePort(), Loopback.freePort(), Loopback.freePort(),
                Loopback.freePort());
        DemoSetup demo = DemoSetup.prepare(dataDir, ports);
        sink = demo.startSink();
        relay = RelayServer.start(demo.config());
        Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, "demo", demo.demoPassword(), "a@example.com",
                "b@example.com", "metrics", "hello");
        assertThatThrownBy(() -> Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, "demo", "wrong",
                "a@example.com", "b@example.com", "x", "x")).hasMessageContaining("535");
        await().atMost(Duration.ofSeconds(15)).until(() -> relay.queue().queued() == 0 && delivered(demo) == 1);
        HttpClient http = HttpClient.newHttpClient();
        metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports.admin() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static long delivered(DemoSetup demo) throws Exception {
        if (!Files.isDirectory(demo.outbox())) {
            return 0;
        }
        try (Stream<Path> s = Files.list(demo.outbox())) {
            return s.filter(p -> p.toString().endsWith(".eml")).count();
        }
    }

    @AfterAll
    static void stop() {
        if (relay != null) {
            relay.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    @Test
    void scrapeAfterTrafficHasTheSeriesOfThatTraffic() {
        assertThat(metrics).contains("relay_messages_delivered_total 1.0",
                "relay_auth_failures_total{reason=\"invalid_credentials\"} 1.0",
                "relay_upstream_connections_opened_total{upstream=\"demo-sink\"} 1.0",
                "relay_upstream_outcomes_total{outcome=\"delivered\",upstream=\"demo-sink\"} 1.0",
                "relay_upstream_outcomes_total{outcome=\"failed\",upstream=\"demo-sink\"} 0.0",
                "relay_upstream_replies_total{class=\"2xx\",enhanced=\"2.0\",upstream=\"demo-sink\"} 1.0",
                "relay_upstream_attempt_seconds_count{upstream=\"demo-sink\"} 1",
                "relay_inbound_connections_opened_total{listener=\"submission\"} 2.0",
                "relay_inbound_tls_handshakes_total{listener=\"submission\",version=\"TLSv1.3\"} 2.0",
                "relay_inbound_tls_handshakes_total{listener=\"submission\",version=\"failed\"} 0.0",
                "relay_inbound_connections{listener=\"submission\"} ",
                "relay_messages_delivered_size_bytes_total ",
                "# TYPE relay_tls_certificate_expiry_seconds gauge", "process_cpu_seconds_total ", "system_cpus ");
    }

    @Test
    void processFiguresArePlausible() {
        // the resident set (more than the JVM's own minimum, less than this machine), and allocation under way
        assertThat(value("process_resident_memory_bytes")).isBetween(16.0 * 1024 * 1024, 64.0 * 1024 * 1024 * 1024);
        assertThat(value("jvm_allocated_bytes_total")).isGreaterThan(1024.0 * 1024);
    }

    private double value(String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
                .orElseThrow(() -> new AssertionError(series + " is not in the scrape"));
    }

    @Test
    void scrapeFollowsThePrometheusNamingAndFormatRules() {
        assertThat(PrometheusTextLint.problems(metrics)).isEmpty();
    }

    @Test
    void promtoolCheckMetricsAcceptsTheScrape() throws Exception {
        Path promtool = RequiredTool.find("promtool", "Debian: apt-get install prometheus");
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true)
                .start();
        p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool check metrics said:\n%s", output).isZero();
    }

    @Test
    void lintCatchesWhatPromtoolRejects() {
        assertThat(PrometheusTextLint.problems("""
                # HELP a_time_ns_total cpu
                # TYPE a_time_ns_total counter
                a_time_ns_total 1.0
                # HELP b_requests requests
                # TYPE b_requests counter
                b_requests 1.0
                # HELP c_count processors
                # TYPE c_count gauge
                c_count 2.0
                # TYPE d_seconds gauge
                d_seconds{x="1"} 1.0
                d_seconds{x="1"} 2.0
                e_orphan 1.0
                """)).containsExactlyInAnyOrder(
                "a_time_ns_total: unit 'ns' is not a base unit (use seconds or bytes)",
                "b_requests: counter name should end in _total",
                "c_count: _count, _sum and _bucket are reserved for histograms and summaries",
                "d_seconds: no HELP line", "d_seconds: no HELP line", "duplicate series d_seconds{x=1}",
                "e_orphan: sample without a TYPE line");
    }
}
