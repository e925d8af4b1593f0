package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code provider:} presets: what each fills, that explicit keys win, and the errors naming the fix. */
class ProviderPresetTest {
    private static final String UPSTREAM = "  - { name: primary, url: \"smtp://smtp.example.com\" }\n";

    @TempDir
    Path dir;

    private LoadedConfig load(String upstreamYaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL.replace(UPSTREAM, upstreamYaml)), env);
    }

    private UpstreamConfig upstream(String upstreamYaml) {
        return load(upstreamYaml, Map.of()).config().upstreams().get(0);
    }

    private List<ConfigProblem> problems(String upstreamYaml) {
        return catchThrowableOfType(ConfigException.class, () -> load(upstreamYaml, Map.of())).problems();
    }

    @ParameterizedTest
    @CsvSource({
        "acs,      ,          smtp.azurecomm.net,                      0.0277, 0",
        "sendgrid, ,          smtp.sendgrid.net,                       0,      0",
        "mailgun,  us,        smtp.mailgun.org,                        0,      0",
        "mailgun,  eu,        smtp.eu.mailgun.org,                     0,      0",
        "ses,      eu-west-1, email-smtp.eu-west-1.amazonaws.com,      1,      200",
        "ses,      us-gov-west-1, email-smtp.us-gov-west-1.amazonaws.com, 1,  200",
        "m365,     ,          smtp.office365.com,                      0.5,    10000",
        "gmail,    ,          smtp.gmail.com,                          0,      0",
        "postmark, ,          smtp.postmarkapp.com,                    0,      0",
    })
    void eachPresetFillsHostPortTlsAndItsDocumentedRate(String provider, String region, String host,
                                                        double perSecond, long perDay) {
        UpstreamConfig u = upstream("  - name: primary\n    provider: " + provider + "\n"
                + (region == null ? "" : "    region: " + region + "\n")
                + "    username: user@example.com\n    password: secret\n");

        assertThat(u.provider()).isEqualTo(ProviderPreset.parse(provider));
        assertThat(u.host()).isEqualTo(host);
        assertThat(u.port()).isEqualTo(587);
        assertThat(u.tls()).isEqualTo(TlsMode.STARTTLS);
        assertThat(u.auth()).isEqualTo(UpstreamAuth.AUTO);
        assertThat(u.rate()).isEqualTo(new UpstreamConfig.Rate(perSecond, perDay));
        assertThat(u.presetFilled()).startsWith("url", "tls");
        assertThat(u.presetNote()).startsWith("provider " + provider).contains("url smtp://" + host + ":587")
                .contains("docs: https://").doesNotContain("secret");
    }

    @Test
    void sendGridFillsTheLiteralApikeyUserName() {
        UpstreamConfig u = upstream("  - { name: primary, provider: sendgrid, password: SG.key }\n");

        assertThat(u.username()).isEqualTo("apikey");
        assertThat(u.presetFilled()).containsExactly("url", "tls", "username");
        assertThat(u.rate()).isEqualTo(UpstreamConfig.Rate.UNLIMITED);
        assertThat(u.presetNote()).contains("username apikey", "none documented: unlimited")
                .doesNotContain("SG.key");
    }

    @Test
    void explicitKeysWinOverThePreset() {
        UpstreamConfig u = upstream("""
                  - name: primary
                    provider: ses
                    region: eu-west-1
                    url: "smtps://email-smtp.eu-west-1.amazonaws.com:465"
                    username: AKIAEXAMPLE
                    password: secret
                    rate: { per-second: 14 }
                """);

        assertThat(u.url().toString()).isEqualTo("smtps://email-smtp.eu-west-1.amazonaws.com:465");
        assertThat(u.tls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(u.rate()).isEqualTo(new UpstreamConfig.Rate(14, 200)); // per-day still the preset's
        assertThat(u.presetFilled()).containsExactly("rate.per-day");
    }

    @Test
    void anExplicitZeroRateMeansUnlimitedAndWins() {
        UpstreamConfig u = upstream("  - { name: primary, provider: m365, username: a@example.com, password: x, "
                + "rate: { per-second: 0, per-day: 0 } }\n");

        assertThat(u.rate()).isEqualTo(UpstreamConfig.Rate.UNLIMITED);
        assertThat(u.presetFilled()).containsExactly("url", "tls");
    }

    @Test
    void withOauth2AnM365OrGmailPresetDefaultsToXoauth2() {
        UpstreamConfig u = upstream("""
                  - name: primary
                    provider: m365
                    username: relay@example.com
                    oauth2:
                      token-url: "https://login.microsoftonline.com/t/oauth2/v2.0/token"
                      client-id: app
                      client-secret: s
                      scope: "https://outlook.office365.com/.default"
                """);

        assertThat(u.auth()).isEqualTo(UpstreamAuth.XOAUTH2);
        assertThat(u.presetFilled()).contains("auth");
    }

    @Test
    void anUnknownProviderNamesTheValidOnes() {
        List<ConfigProblem> p = problems("  - { name: primary, provider: sendgird, password: x }\n");

        assertThat(p).anySatisfy(c -> {
            assertThat(c.key()).isEqualTo("upstreams[0].provider");
            assertThat(c.message()).contains("unknown provider 'sendgird'",
                    "acs, sendgrid, mailgun, ses, m365, gmail, postmark");
        });
    }

    @Test
    void aMissingOrWrongRegionIsAnErrorNamingTheValidValues() {
        assertThat(problems("  - { name: primary, provider: ses, username: AKIA, password: x }\n"))
                .anySatisfy(c -> {
                    assertThat(c.key()).isEqualTo("upstreams[0].region");
                    assertThat(c.message()).contains("provider: ses needs region", "eu-west-1");
                })
                .noneSatisfy(c -> assertThat(c.key()).isEqualTo("upstreams[0].url"));
        assertThat(problems("  - { name: primary, provider: mailgun, region: de, username: a, password: x }\n"))
                .anySatisfy(c -> {
                    assertThat(c.key()).isEqualTo("upstreams[0].region");
                    assertThat(c.value()).isEqualTo("de");
                    assertThat(c.message()).contains("not a Mailgun region: use us, eu");
                });
        assertThat(problems("  - { name: primary, provider: ses, region: Europe, username: a, password: x }\n"))
                .anySatisfy(c -> assertThat(c.key()).isEqualTo("upstreams[0].region"));
    }

    @Test
    void aRegionWithoutARegionalPresetIsAnError() {
        assertThat(problems("  - { name: primary, provider: sendgrid, region: eu, password: x }\n"))
                .anySatisfy(c -> assertThat(c.message()).contains("provider: sendgrid takes no region"));
        assertThat(problems("  - { name: primary, url: \"smtp://smtp.example.com\", region: eu }\n"))
                .anySatisfy(c -> assertThat(c.message()).contains("region is only used with"));
    }

    @Test
    void aPresetWithoutAUserNameSaysWhatTheUserNameIs() {
        assertThat(problems("  - { name: primary, provider: acs, password-file: /dev/null }\n"
                .replace("password-file: /dev/null", "password: x")))
                .anySatisfy(c -> {
                    assertThat(c.key()).isEqualTo("upstreams[0].username");
                    assertThat(c.message()).contains("<ACS resource name>.<Entra application (client) id>"
                            + ".<Entra tenant id>");
                });
        assertThat(problems("  - { name: primary, provider: acs, username: res.app.tenant }\n"))
                .anySatisfy(c -> {
                    assertThat(c.key()).isEqualTo("upstreams[0].password");
                    assertThat(c.message()).contains("a client secret (its value) of that Entra application");
                });
    }

    @Test
    void port25StaysForbiddenWithAPreset() {
        assertThat(problems("  - { name: primary, provider: sendgrid, url: \"smtp://smtp.sendgrid.net:25\", "
                + "password: x }\n")).anySatisfy(c -> assertThat(c.key()).isEqualTo("upstreams[0].url"));
    }

    @Test
    void implicitTlsOnThePresetsStarttlsPortIsAnError() {
        assertThat(problems("  - { name: primary, provider: sendgrid, tls: implicit, password: x }\n"))
                .anySatisfy(c -> {
                    assertThat(c.key()).isEqualTo("upstreams[0].tls");
                    assertThat(c.message()).contains("smtps://smtp.sendgrid.net:465");
                });
    }

    @Test
    void usualMistakesNextToAPresetAreWarnings() {
        LoadedConfig c = load("""
                  - { name: primary, provider: sendgrid, username: me@example.com, password: x }
                  - name: ses
                    provider: ses
                    region: eu-west-1
                    url: "smtp://email-smtp.us-east-1.amazonaws.com:587"
                    username: AKIA
                    password: x
                """, Map.of());

        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("upstreams[0].username",
                "the literal word apikey"));
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("upstreams[1].url names "
                + "email-smtp.us-east-1.amazonaws.com, not email-smtp.eu-west-1.amazonaws.com", "check the region"));
    }

    @Test
    void theEnvironmentSetsProviderAndRegionLikeAnyKey() {
        RelayConfig c = load(UPSTREAM, Map.of("RELAY_UPSTREAMS_0_URL", "", "RELAY_UPSTREAMS_0_PROVIDER", "mailgun",
                "RELAY_UPSTREAMS_0_REGION", "eu", "RELAY_UPSTREAMS_0_USERNAME", "postmaster@mg.example.com",
                "RELAY_UPSTREAMS_0_PASSWORD", "x")).config();

        assertThat(c.upstreams().get(0).host()).isEqualTo("smtp.eu.mailgun.org");
        assertThat(c.upstreams().get(0).region()).isEqualTo("eu");
    }

    @Test
    void aWholeUpstreamCanComeFromTheEnvironmentWithAPreset() {
        RelayConfig c = load(UPSTREAM, Map.of("RELAY_UPSTREAMS_1_NAME", "sg", "RELAY_UPSTREAMS_1_PROVIDER",
                "sendgrid", "RELAY_UPSTREAMS_1_PASSWORD", "SG.x")).config();

        assertThat(c.upstreams().get(1).host()).isEqualTo("smtp.sendgrid.net");
        assertThat(c.upstreams().get(1).username()).isEqualTo("apikey");
    }

    @Test
    void postmarksServerTokenAsUserNameIsShownMaskedLikeThePassword() {
        UpstreamConfig u = upstream("  - { name: primary, provider: postmark, username: 0f1e-token, "
                + "password: 0f1e-token }\n");
        RelayConfig c = load("  - { name: primary, provider: postmark, username: 0f1e-token, "
                + "password: 0f1e-token }\n", Map.of()).config();

        assertThat(u.username()).isEqualTo("0f1e-token");
        assertThat(u.shownUsername()).isEqualTo("****");
        assertThat(u.toString()).doesNotContain("0f1e-token");
        assertThat(c.toMaskedYaml()).contains("url: smtp://smtp.postmarkapp.com:587").doesNotContain("0f1e-token");
    }

    @Test
    void theMaskedYamlKeepsTheProviderAndLoadsBackToTheSameUpstream() {
        RelayConfig c = load("  - { name: primary, provider: ses, region: eu-west-1, username: AKIA, "
                + "password: secret }\n", Map.of()).config();
        String yaml = c.toMaskedYaml();

        assertThat(yaml).contains("provider: ses", "region: eu-west-1",
                "url: smtp://email-smtp.eu-west-1.amazonaws.com:587",
                "# upstreams[0] primary: provider ses (region eu-west-1) filled url "
                        + "smtp://email-smtp.eu-west-1.amazonaws.com:587, tls starttls, rate.per-second 1, "
                        + "rate.per-day 200; its default rate: the sandbox quota").doesNotContain("secret");
        RelayConfig back = ConfigLoader.load(Fixtures.write(dir, yaml.replace("****", "secret")), Map.of())
                .config();
        UpstreamConfig u = back.upstreams().get(0);
        assertThat(u.url()).isEqualTo(c.upstreams().get(0).url());
        assertThat(u.rate()).isEqualTo(c.upstreams().get(0).rate());
        assertThat(u.provider()).isEqualTo(ProviderPreset.SES);
    }
}
