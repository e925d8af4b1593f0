package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ValueTypesTest {
    @Test
    void hostPortParsesIpv4NamesAndBracketedIpv6() {
        assertThat(HostPort.parse("0.0.0.0:587")).isEqualTo(new HostPort("0.0.0.0", 587));
        assertThat(HostPort.parse("relay.local:465")).isEqualTo(new HostPort("relay.local", 465));
        assertThat(HostPort.parse("[::1]:587")).isEqualTo(new HostPort("::1", 587));
        assertThat(HostPort.parse("[::1]:587").toString()).isEqualTo("[::1]:587");
        assertThat(HostPort.parse("[::]:587").isWildcard()).isTrue();
    }

    @Test
    void hostPortRefusesWhatItCannotRead() {
        assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse("::1:587")).withMessageContaining("[");
        assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse("host")).withMessageContaining("port");
        assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse(":587")).withMessageContaining("host");
        assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse("h:x")).withMessageContaining("number");
        assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse("h:65536")).withMessageContaining("65535");
    }

    @Test
    void loopbackIsRecognisedByNameWithoutLookup() {
        assertThat(new HostPort("127.0.0.1", 1).isLoopback()).isTrue();
        assertThat(new HostPort("127.1.2.3", 1).isLoopback()).isTrue();
        assertThat(new HostPort("::1", 1).isLoopback()).isTrue();
        assertThat(new HostPort("localhost", 1).isLoopback()).isTrue();
        assertThat(new HostPort("0.0.0.0", 1).isLoopback()).isFalse();
        assertThat(new HostPort("10.0.0.1", 1).isLoopback()).isFalse();
        assertThat(new HostPort("smtp.example.com", 1).isLoopback()).isFalse();
    }

    @Test
    void cidrContainsAddressesOfItsNetworkOnly() throws Exception {
        Cidr v4 = Cidr.parse("10.1.0.0/16");
        assertThat(v4.contains(InetAddress.getByName("10.1.255.3"))).isTrue();
        assertThat(v4.contains(InetAddress.getByName("10.2.0.1"))).isFalse();
        assertThat(v4.contains(InetAddress.getByName("::1"))).isFalse();
        Cidr odd = Cidr.parse("192.168.1.128/25");
        assertThat(odd.contains(InetAddress.getByName("192.168.1.200"))).isTrue();
        assertThat(odd.contains(InetAddress.getByName("192.168.1.100"))).isFalse();
        Cidr v6 = Cidr.parse("fd00::/8");
        assertThat(v6.contains(InetAddress.getByName("fd12:3456::1"))).isTrue();
        assertThat(v6.contains(InetAddress.getByName("fe80::1"))).isFalse();
        assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("8.8.8.8"))).isTrue();
        assertThat(Cidr.parse("::1").prefixLength()).isEqualTo(128);
        assertThat(Cidr.parse("127.0.0.1").prefixLength()).isEqualTo(32);
    }

    @Test
    void cidrPrintsIpv6InTheShortForm() {
        assertThat(Cidr.parse("::1").toString()).isEqualTo("::1/128");
        assertThat(Cidr.parse("::/0").toString()).isEqualTo("::/0");
        assertThat(Cidr.parse("fd00::/8").toString()).isEqualTo("fd00::/8");
        assertThat(Cidr.parse("2001:db8:0:0:1:0:0:1/128").toString()).isEqualTo("2001:db8::1:0:0:1/128");
        assertThat(Cidr.parse("2001:db8:0:1:1:1:1:1/64").toString()).isEqualTo("2001:db8:0:1:1:1:1:1/64");
        assertThat(Cidr.parse("10.0.0.0/8").toString()).isEqualTo("10.0.0.0/8");
    }

    @Test
    void cidrRefusesBadPrefixesAndHostNames() {
        assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("10.0.0.0/33")).withMessageContaining("/32");
        assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("::/129")).withMessageContaining("/128");
        assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("10.0.0.0/x"));
        assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("300.0.0.0/8"));
        assertThatIllegalArgumentException().isThrownBy(() -> Cidr.parse("example.com/8"));
    }

    @Test
    void upstreamUrlHasDefaultPortsAndTlsFromTheScheme() {
        UpstreamUrl smtp = UpstreamUrl.parse("smtp://smtp.example.com");
        assertThat(smtp.port()).isEqualTo(587);
        assertThat(smtp.defaultTls()).isEqualTo(TlsMode.STARTTLS);
        UpstreamUrl smtps = UpstreamUrl.parse("SMTPS://apikey@smtp.example.com");
        assertThat(smtps).isEqualTo(new UpstreamUrl("smtps", "smtp.example.com", 465, "apikey"));
        assertThat(smtps.defaultTls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(UpstreamUrl.parse("smtp://user%40example.com@[::1]:2525/"))
                .isEqualTo(new UpstreamUrl("smtp", "::1", 2525, "user@example.com"));
    }

    @Test
    void upstreamUrlRefusesOtherSchemesPathsAndPasswords() {
        assertThatIllegalArgumentException().isThrownBy(() -> UpstreamUrl.parse("http://x")).withMessageContaining("smtp://");
        assertThatIllegalArgumentException().isThrownBy(() -> UpstreamUrl.parse("smtp.example.com:587"))
                .withMessageContaining("not a URL");
        assertThatIllegalArgumentException().isThrownBy(() -> UpstreamUrl.parse("smtp://x/path"));
        assertThatIllegalArgumentException().isThrownBy(() -> UpstreamUrl.parse("smtp://u:p@x"))
                .withMessageContaining("password-file");
        assertThat(UpstreamUrl.redact("smtp://u:p@x:587")).isEqualTo("smtp://u:****@x:587");
        assertThat(UpstreamUrl.redact("smtp://u@x:587")).isEqualTo("smtp://u@x:587");
    }

    @Test
    void durationsAcceptShortUnitsAndIso8601() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("1m")).isEqualTo(Duration.ofMinutes(1));
        assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
        assertThat(Durations.parse("1d")).isEqualTo(Duration.ofDays(1));
        assertThat(Durations.parse("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("pt1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThatIllegalArgumentException().isThrownBy(() -> Durations.parse("30"))
                .withMessageContaining("500ms, 30s, 1m, 2h, 1d");
        assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Durations.format(Duration.ofDays(2))).isEqualTo("2d");
    }

    @Test
    void tlsModeParsesTheConfigurationSpelling() {
        assertThat(TlsMode.parse("STARTTLS")).isEqualTo(TlsMode.STARTTLS);
        assertThat(TlsMode.parse("none")).isEqualTo(TlsMode.NONE);
    }
}
