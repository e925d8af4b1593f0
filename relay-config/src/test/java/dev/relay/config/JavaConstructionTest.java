package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class JavaConstructionTest {
    private static RelayConfig demo(UpstreamConfig upstream) {
        return new RelayConfig("relay.test",
                List.of(new ListenerConfig("local", HostPort.parse("127.0.0.1:2525"), TlsMode.NONE)),
                null, new AuthConfig(null, List.of(Cidr.parse("127.0.0.1/32"))), new SpoolConfig(Path.of("spool")),
                null, List.of(upstream), null);
    }

    @Test
    void aValidConfigurationCanBeBuiltInJavaWithDefaults() {
        RelayConfig c = demo(new UpstreamConfig("local", UpstreamUrl.parse("smtp://localhost:3025"), null, null,
                TlsMode.NONE, null));
        assertThat(c.queue()).isEqualTo(QueueConfig.defaults());
        assertThat(c.admin()).isEqualTo(AdminConfig.defaults());
        assertThat(c.tls().isConfigured()).isFalse();
        assertThat(c.warnings()).hasSize(2);
    }

    @Test
    void theConstructorRunsTheSameValidation() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> demo(new UpstreamConfig("bad",
                new UpstreamUrl("smtp", "smtp.example.com", 25, "u"), null, null, TlsMode.NONE, null)));
        assertThat(e.problems()).extracting(ConfigProblem::key)
                .containsExactly("upstreams[0].url", "upstreams[0].password", "upstreams[0].tls");
        assertThat(e.problems().get(0).message()).isEqualTo(Validator.PORT_25);
    }

    @Test
    void anUpstreamTakesItsUserAndTlsFromTheUrl() {
        UpstreamConfig u = new UpstreamConfig("p", UpstreamUrl.parse("smtps://apikey@smtp.example.com"), null,
                "pw", null, null);
        assertThat(u.username()).isEqualTo("apikey");
        assertThat(u.tls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(u.toString()).doesNotContain("pw,").contains("password=****");
    }
}
