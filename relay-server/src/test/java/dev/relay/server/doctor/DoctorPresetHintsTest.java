package dev.relay.server.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.ProviderPreset;
import dev.relay.config.RelayConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.testkit.TestUpstream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `relay doctor` with a provider preset, against a scripted upstream on loopback that answers as the provider does
 * when the configuration has the provider's usual mistake: the failing check's fix says what to change.
 */
class DoctorPresetHintsTest {
    @TempDir
    Path dir;

    private TestUpstream upstream;

    @AfterEach
    void stop() throws IOException {
        if (upstream != null) {
            upstream.close();
        }
    }

    /** A provider's upstream: its greeting, AUTH answered with {@code authReply}, MAIL with {@code mailReply}. */
    private static TestUpstream scripted(String greeting, String authReply, String mailReply) throws IOException {
        return TestUpstream.plain().greeting(greeting).authReply(authReply).mailReply(n -> mailReply);
    }

    private RelayConfig config(String upstreamKeys) throws IOException {
        Path file = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:10997", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams:
                  - name: scripted
                    url: "smtp://127.0.0.1:%d"
                    tls: none
                %s""".formatted(dir.resolve("spool"), upstream.port(), upstreamKeys.indent(4)));
        return ConfigLoader.load(file, Map.of()).config();
    }

    private String doctor(RelayConfig config, String... args) throws Exception {
        DoctorCommand cmd = new DoctorCommand();
        new CommandLine(cmd).parseArgs(args);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = cmd.run(config, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(ok).as(out).isFalse();
        return out;
    }

    @Test
    void sendGridWithAUserNameOtherThanApikeyIsToldToUseTheLiteral() throws Exception {
        upstream = scripted("smtp.sendgrid.net ESMTP service ready", "535 Authentication failed: "
                + "Bad username / password", "250 OK");
        String out = doctor(config("provider: sendgrid\nusername: me@example.com\npassword: SG.key\n"),
                "--timeout", "PT5S");

        assertThat(out).contains("provider sendgrid", "FAIL  auth      credentials refused: 535 Authentication "
                + "failed", "fix: sendgrid: SendGrid's SMTP user name is the literal word apikey")
                .doesNotContain("SG.key");
    }

    @Test
    void sendGridWithApikeyIsToldAboutTheKeyItself() throws Exception {
        upstream = scripted("smtp.sendgrid.net ESMTP service ready", "535 Authentication failed: "
                + "Bad username / password", "250 OK");
        String out = doctor(config("provider: sendgrid\npassword: SG.key\n"), "--timeout", "PT5S");

        assertThat(out).contains("user apikey", "fix: sendgrid: the password must be a SendGrid API key");
    }

    @Test
    void m365WithSmtpAuthDisabledForTheTenantIsToldToEnableItOrUseXoauth2() throws Exception {
        upstream = scripted("SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready",
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
                        + "Visit https://aka.ms/smtp_auth_disabled for more information.", "250 OK");
        String out = doctor(config("provider: m365\nusername: relay@example.com\npassword: pw\n"),
                "--timeout", "PT5S");

        assertThat(out).contains("FAIL  auth      credentials refused: 535 5.7.139",
                "fix: m365: SMTP AUTH is disabled for this tenant or mailbox",
                "-SmtpClientAuthenticationDisabled $false", "auth: xoauth2");
    }

    @Test
    void gmailRefusingTheAccountPasswordIsToldToUseAnAppPassword() throws Exception {
        upstream = scripted("smtp.gmail.com ESMTP", "534-5.7.9 Application-specific password "
                + "required.\r\n534 5.7.9 Learn more at https://support.google.com/mail/?p=InvalidSecondFactor",
                "250 OK");
        String out = doctor(config("provider: gmail\nusername: relay@example.com\npassword: account-pw\n"),
                "--timeout", "PT5S");

        assertThat(out).contains("FAIL  auth      credentials refused: 534 5.7.9",
                "fix: gmail: Gmail refuses the account's own password: use an app password");
    }

    @Test
    void acsRefusingTheCredentialsIsToldTheUserNameForm() throws Exception {
        upstream = scripted("smtp.azurecomm.net ESMTP", "535 5.7.3 Authentication unsuccessful",
                "250 OK");
        String out = doctor(config("provider: acs\nusername: relay@example.com\npassword: secret-value\n"),
                "--timeout", "PT5S");

        assertThat(out).contains("fix: acs: the ACS user name is <ACS resource name>.<Entra application (client) "
                + "id>.<Entra tenant id>", "client secret's value (not its id)");
    }

    @Test
    void sesWithAnIamSecretKeyIsToldToCreateSmtpCredentials() throws Exception {
        upstream = scripted("email-smtp.amazonaws.com ESMTP SimpleEmailService",
                "535 Authentication Credentials Invalid", "250 OK");
        String iamSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"; // 40 characters, AWS's documented example
        String out = doctor(config("provider: ses\nregion: eu-west-1\nusername: AKIAIOSFODNN7EXAMPLE\n"
                + "password: \"" + iamSecret + "\"\n"), "--timeout", "PT5S");

        assertThat(out).contains("fix: ses: the password has 40 characters like an IAM secret access key",
                "region eu-west-1").doesNotContain(iamSecret);
    }

    @Test
    void sesRefusingAnUnverifiedSenderIsToldToVerifyItInTheRegion() throws Exception {
        upstream = scripted("email-smtp.amazonaws.com ESMTP SimpleEmailService", "235 Authentication "
                + "successful.", "554 Message rejected: Email address is not verified. The following identities "
                + "failed the check in region EU-WEST-1: app@example.com");
        String out = doctor(config("provider: ses\nregion: eu-west-1\nusername: AKIAIOSFODNN7EXAMPLE\n"
                + "password: smtp-password\n"), "--timeout", "PT5S", "--send-test", "ops@example.org",
                "--from", "app@example.com");

        assertThat(out).contains("OK    auth", "FAIL  send-test refused because of the account (sender_not_verified",
                "not verified",
                "fix: ses: SES sends only from verified identities", "in region eu-west-1");
    }

    @Test
    void postmarkRefusingTheTokenIsToldItIsBothUserAndPasswordAndTheTokenIsNotShown() throws Exception {
        upstream = scripted("smtp.postmarkapp.com ESMTP", "535 5.7.0 Authentication failed", "250 OK");
        String out = doctor(config("provider: postmark\nusername: 0f1e-server-token\n"
                + "password: 0f1e-server-token\n"), "--timeout", "PT5S");

        assertThat(out).contains("user ****", "fix: postmark: Postmark's user name and password are both the "
                + "Server API token").doesNotContain("0f1e-server-token");
    }

    @Test
    void everyPresetHasAHintForAFailingAuthCheck() {
        for (ProviderPreset p : ProviderPreset.values()) {
            UpstreamConfig u = new UpstreamConfig("u", null, "user", "pw", null, null, null, null, 1, 1, null,
                    null, null, p, p.needsRegion() ? (p == ProviderPreset.SES ? "eu-west-1" : "eu") : null,
                    List.of());
            List<Check> hinted = PresetHints.apply(u, List.of(Check.fail("auth", "credentials refused: 535",
                    "check the user")));
            assertThat(hinted.get(0).fix()).as(p.key()).startsWith(p.key() + ": ").endsWith("; otherwise: check the user");
        }
    }

    @Test
    void aWrongSesRegionIsNamedWhenTheEndpointDoesNotResolve() {
        UpstreamConfig u = new UpstreamConfig("u", null, "AKIA", "pw", null, null, null, null, 1, 1, null, null,
                null, ProviderPreset.SES, "eu-west-9", List.of());
        List<Check> hinted = PresetHints.apply(u, List.of(Check.fail("dns",
                "cannot resolve email-smtp.eu-west-9.amazonaws.com", "check the host name")));

        assertThat(hinted.get(0).fix()).contains("email-smtp.eu-west-9.amazonaws.com exists only for regions with "
                + "SES: check region");
    }

    @Test
    void aUrlOfAnotherRegionNextToTheSesPresetIsAWarningBeforeAnyNetworkCheck() {
        UpstreamConfig u = new UpstreamConfig("u", UpstreamUrl.parse("smtp://email-smtp.us-east-1.amazonaws.com:587"),
                "AKIA", "pw", null, null, null, null, 1, 1, null, null, null, ProviderPreset.SES, "eu-west-1",
                List.of());

        assertThat(PresetHints.configChecks(u)).singleElement().satisfies(c -> {
            assertThat(c.verdict()).isEqualTo(Check.Verdict.WARN);
            assertThat(c.detail()).isEqualTo("url names email-smtp.us-east-1.amazonaws.com, but provider ses in "
                    + "region eu-west-1 is at email-smtp.eu-west-1.amazonaws.com");
            assertThat(c.fix()).startsWith("check region");
        });
        UpstreamConfig filled = new UpstreamConfig("u", ProviderPreset.SES.url("eu-west-1"), "AKIA", "pw", null,
                null, null, null, 1, 1, null, null, null, ProviderPreset.SES, "eu-west-1", List.of("url", "tls"));
        assertThat(PresetHints.configChecks(filled)).isEmpty();
    }

    @Test
    void withoutAPresetOrOnPassingChecksNothingIsAdded() {
        UpstreamConfig plain = new UpstreamConfig("u", null, "user", "pw", null, null);
        List<Check> checks = List.of(Check.fail("auth", "credentials refused: 535", "check the user"));
        assertThat(PresetHints.apply(plain, checks)).isEqualTo(checks);

        UpstreamConfig sg = new UpstreamConfig("u", null, "apikey", "pw", null, null, null, null, 1, 1, null, null,
                null, ProviderPreset.SENDGRID, null, List.of());
        List<Check> ok = List.of(Check.ok("auth", "authenticated as apikey"));
        assertThat(PresetHints.apply(sg, ok)).isEqualTo(ok);
    }
}
