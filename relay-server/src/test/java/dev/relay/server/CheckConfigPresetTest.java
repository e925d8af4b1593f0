package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.auth.UsersFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `relay check-config` says what each upstream's provider preset filled, and a wrong preset is an error. */
class CheckConfigPresetTest {
    @TempDir
    Path dir;

    private Path config(String upstreams) throws Exception {
        Path users = Files.writeString(dir.resolve("users"), UsersFile.line("app", "pw".toCharArray()) + "\n");
        return Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:10998", tls: none }
                auth: { users-file: "%s" }
                spool: { dir: "%s" }
                upstreams:
                %s""".formatted(users, dir.resolve("spool"), upstreams));
    }

    @Test
    void printsWhatEachPresetFilled() throws Exception {
        CliRun r = CliRun.of(config("""
                  - { name: sendgrid, provider: sendgrid, password: "SG.very-secret" }
                  - { name: acs, provider: acs, username: "res.app-id.tenant-id", password: "acs-secret" }
                  - { name: own, url: "smtp://u@smtp.example.net:587", password: "x" }
                """));

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("provider: sendgrid", "url: smtp://smtp.sendgrid.net:587",
                "# upstreams[0] sendgrid: provider sendgrid filled url smtp://smtp.sendgrid.net:587, tls starttls, "
                        + "username apikey; its default rate: none documented: unlimited",
                "# upstreams[1] acs: provider acs filled url smtp://smtp.azurecomm.net:587, tls starttls, "
                        + "rate.per-second 0.0277; its default rate: 30 per minute and 100 per hour",
                "service-limits#email")
                .doesNotContain("# upstreams[2]", "SG.very-secret", "acs-secret");
        assertThat(r.err()).contains("configuration OK");
    }

    @Test
    void aWrongPresetOrAMissingRegionFailsNamingTheKeyAndTheValidValues() throws Exception {
        CliRun r = CliRun.of(config("""
                  - { name: a, provider: amazon, password: "x" }
                  - { name: b, provider: ses, username: AKIA, password: "x" }
                """));

        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("upstreams[0].provider", "unknown provider 'amazon'",
                "acs, sendgrid, mailgun, ses, m365, gmail, postmark", "upstreams[1].region",
                "provider: ses needs region");
    }
}
