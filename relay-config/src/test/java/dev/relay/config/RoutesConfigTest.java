package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoutesConfigTest {
    private static final String TWO_UPSTREAMS = Fixtures.MINIMAL.replace(
            "  - { name: primary, url: \"smtp://smtp.example.com\" }\n",
            "  - { name: primary, url: \"smtp://smtp.example.com\" }\n"
                    + "  - { name: backup, url: \"smtps://backup.example.net\" }\n");

    @TempDir
    Path dir;

    private LoadedConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, yaml), env);
    }

    private List<ConfigProblem> problems(String routes) {
        return catchThrowableOfType(ConfigException.class, () -> load(TWO_UPSTREAMS + routes, Map.of()))
                .problems();
    }

    @Test
    void withoutRoutesTheListIsEmpty() {
        assertThat(load(TWO_UPSTREAMS, Map.of()).config().routes()).isEmpty();
    }

    @Test
    void routesAreBoundWithEveryKey() {
        RelayConfig c = load(TWO_UPSTREAMS + """
                routes:
                  - name: billing
                    senders: ["@billing.example.com", "alice@example.org"]
                    users: [billing-app]
                    upstreams: [backup, primary]
                    rewrite-sender: bounces@verified.example.com
                    rewrite-from: "@verified.example.com"
                    reply-to-original: true
                    strip-headers: [X-Originating-IP, X-Mailer]
                  - { senders: ["*"], upstreams: [primary] }
                """, Map.of()).config();
        RouteConfig r = c.routes().get(0);
        assertThat(r.name()).isEqualTo("billing");
        assertThat(r.senders()).containsExactly("@billing.example.com", "alice@example.org");
        assertThat(r.users()).containsExactly("billing-app");
        assertThat(r.upstreams()).containsExactly("backup", "primary");
        assertThat(r.rewriteSender()).isEqualTo(new AddressRewrite("bounces", "verified.example.com"));
        assertThat(r.rewriteFrom()).isEqualTo(new AddressRewrite(null, "verified.example.com"));
        assertThat(r.replyToOriginal()).isTrue();
        assertThat(r.stripHeaders()).containsExactly("X-Originating-IP", "X-Mailer");
        assertThat(c.routes().get(1).name()).isEqualTo("route-1");
        assertThat(c.routes().get(1).isCatchAll()).isTrue();
    }

    @Test
    void routesCanBeGivenInTheEnvironment() {
        RelayConfig c = load(TWO_UPSTREAMS, Map.of("RELAY_ROUTES_0_SENDERS", "@a.example, @b.example",
                "RELAY_ROUTES_0_UPSTREAMS", "backup,primary", "RELAY_ROUTES_0_STRIP_HEADERS_0", "X-Mailer"))
                .config();
        assertThat(c.routes().get(0).senders()).containsExactly("@a.example", "@b.example");
        assertThat(c.routes().get(0).upstreams()).containsExactly("backup", "primary");
        assertThat(c.routes().get(0).stripHeaders()).containsExactly("X-Mailer");
    }

    @Test
    void anUnknownUpstreamIsNamedWithTheKnownOnes() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*\"], upstreams: [primary, sendgrid] }\n");
        assertThat(ps).hasSize(1);
        assertThat(ps.get(0).key()).isEqualTo("routes[0].upstreams[1]");
        assertThat(ps.get(0).value()).isEqualTo("sendgrid");
        assertThat(ps.get(0).message()).contains("no upstream is named 'sendgrid'", "primary, backup");
    }

    @Test
    void aRouteNeedsUpstreams() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*\"], upstreams: [] }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].upstreams");
        assertThat(ps.get(0).message()).contains("at least one upstream");
    }

    @Test
    void aRouteNeedsSendersOrUsers() {
        List<ConfigProblem> ps = problems("routes:\n  - { upstreams: [primary] }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].senders");
    }

    @Test
    void badSenderPatternsAreRefusedWithTheSyntax() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*.example.com\", \"example.com\"], "
                + "upstreams: [primary] }\n");
        assertThat(ps).extracting(ConfigProblem::key)
                .containsExactly("routes[0].senders[0]", "routes[0].senders[1]");
        assertThat(ps.get(1).value()).isEqualTo("example.com");
        assertThat(ps.get(1).message()).contains("\"@example.com\" (a domain)");
    }

    @Test
    void rewriteAddressesMustParse() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*\"], upstreams: [primary], "
                + "rewrite-from: verified.example.com }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].rewrite-from");
        assertThat(ps.get(0).message()).contains("@example.com");
    }

    @Test
    void replyToOriginalNeedsRewriteFrom() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*\"], upstreams: [primary], "
                + "reply-to-original: true }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].reply-to-original");
    }

    @Test
    void stripHeadersAreHeaderNames() {
        List<ConfigProblem> ps = problems("routes:\n  - { senders: [\"*\"], upstreams: [primary], "
                + "strip-headers: [\"X-Mailer:\"] }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].strip-headers[0]");
    }

    @Test
    void routeNamesAreUnique() {
        List<ConfigProblem> ps = problems("routes:\n  - { name: a, senders: [\"@x.org\"], upstreams: [primary] }\n"
                + "  - { name: a, senders: [\"*\"], upstreams: [backup] }\n");
        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[1].name");
    }

    @Test
    void aRouteAfterTheCatchAllIsAWarning() {
        LoadedConfig loaded = load(TWO_UPSTREAMS + """
                routes:
                  - { name: all, senders: ["*"], upstreams: [primary] }
                  - { name: late, senders: ["@x.org"], upstreams: [backup] }
                """, Map.of());
        assertThat(loaded.warnings()).anySatisfy(w -> assertThat(w).contains("routes[1] (late) is never used",
                "routes[0]", "move it before"));
    }

    @Test
    void printedRoutesLoadBack() {
        RelayConfig c = load(TWO_UPSTREAMS + """
                routes:
                  - { name: billing, senders: ["@billing.example.com"], users: [app], upstreams: [backup],
                      rewrite-from: noreply@verified.example.com, reply-to-original: true,
                      strip-headers: [X-Mailer] }
                """, Map.of()).config();
        String yaml = c.toMaskedYaml();
        RelayConfig again = load(yaml, Map.of()).config();
        assertThat(again.routes()).isEqualTo(c.routes());
    }

    @Test
    void theOldConstructorHasNoRoutes() {
        RelayConfig c = load(TWO_UPSTREAMS, Map.of()).config();
        RelayConfig old = new RelayConfig(c.hostname(), c.listeners(), c.tls(), c.auth(), c.spool(), c.queue(),
                c.upstreams(), c.admin());
        assertThat(old.routes()).isEmpty();
    }
}
