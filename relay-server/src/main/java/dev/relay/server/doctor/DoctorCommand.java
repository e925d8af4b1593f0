package dev.relay.server.doctor;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.NettyDeliveryEngine;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.server.setup.ConfigChoice;
import dev.relay.server.setup.DemoSetup;
import dev.relay.server.setup.UpstreamTargets;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Diagnoses the way out to each configured upstream and prints a verdict and a fix for each "
                + "check: DNS, TCP to the configured port, whether outbound port 25 is blocked on this network "
                + "(only reported, never used), TLS and the certificate, AUTH with the configured credentials "
                + "(then QUIT: no mail is sent unless --send-test is given).",
                "With neither --config nor RELAY_* variables it checks the demo defaults kept in --data-dir (the "
                        + "demo's capture sink runs while `relay serve` does).",
                "Exit status: 0 all checks passed (warnings allowed), 1 a check failed, 2 invalid configuration."})
public final class DoctorCommand implements Callable<Integer> {
    @Mixin
    ConfigChoice choice;

    @Option(names = "--send-test", paramLabel = "ADDRESS",
            description = "Also send a short test message through each upstream to ADDRESS.")
    String sendTest;

    @Option(names = "--from", paramLabel = "ADDRESS",
            description = "Envelope and header sender of the test message (default: the upstream user when it "
                    + "is an address, else relay-doctor@<hostname>). Providers accept only verified senders.")
    String from;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "PT10S",
            description = "Per-step time limit (ISO-8601, default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        RelayConfig cfg;
        try {
            cfg = choice.given(System.getenv()) ? ConfigLoader.load(choice.config(), System.getenv()).config()
                    : DemoSetup.prepare(choice.dataDir(), DemoSetup.Ports.DEFAULT).config();
        } catch (ConfigException e) {
            System.err.println("relay doctor: invalid configuration:");
            System.err.println(e.getMessage());
            return 2;
        }
        return run(cfg, System.out) ? 0 : 1;
    }

    /** Runs every check for every upstream, prints them, and says whether none failed. */
    public boolean run(RelayConfig cfg, PrintStream out) throws Exception {
        int failed = 0;
        for (UpstreamConfig uc : cfg.upstreams()) {
            UpstreamTarget target = UpstreamTargets.of(uc);
            out.printf("upstream %s (%s:%d, tls=%s%s%s)%n", uc.name(), uc.host(), uc.port(), uc.tls().key(),
                    uc.username() == null ? "" : ", user " + uc.shownUsername(),
                    uc.provider() == null ? "" : ", provider " + uc.provider().key());
            List<Check> checks = new ArrayList<>(PresetHints.configChecks(uc));
            checks.addAll(new UpstreamProbe(target, timeout).run());
            boolean probeOk = checks.stream().noneMatch(c -> c.verdict() == Check.Verdict.FAIL);
            if (sendTest != null && probeOk) {
                checks.add(sendTest(cfg, target));
            }
            checks = PresetHints.apply(uc, checks);
            for (Check c : checks) {
                out.printf("  %-5s %-9s %s%n", c.verdict(), c.name(), c.detail());
                if (!c.fix().isEmpty()) {
                    out.printf("  %-5s %-9s fix: %s%n", "", "", c.fix());
                }
                if (c.verdict() == Check.Verdict.FAIL) {
                    failed++;
                }
            }
        }
        out.println(failed == 0 ? "verdict: OK, mail can leave through every upstream"
                : "verdict: " + failed + " check(s) failed; see the fixes above");
        return failed == 0;
    }

    private Check sendTest(RelayConfig cfg, UpstreamTarget target) throws Exception {
        String sender = from != null ? from
                : target.username() != null && target.username().contains("@") ? target.username()
                : "relay-doctor@" + cfg.hostname();
        Instant now = Instant.now();
        QueueId id = QueueId.next(now);
        Envelope envelope = Envelope.received(id, MailAddress.of(sender), List.of(MailAddress.of(sendTest)), now,
                "");
        Path body = Files.createTempFile("relay-doctor", ".eml");
        try (NettyDeliveryEngine engine = new NettyDeliveryEngine(target)) {
            Files.writeString(body, "From: <" + sender + ">\r\nTo: <" + sendTest + ">\r\nSubject: relay doctor "
                    + "test via " + target.name() + "\r\nDate: "
                    + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now()) + "\r\nMessage-ID: <" + id
                    + "@" + cfg.hostname() + ">\r\n\r\nThis is a test message sent by `relay doctor --send-test`.\r\n");
            DeliveryReport report = engine.deliver(envelope, Body.wholeFile(body))
                    .get(timeout.toSeconds() * 6, TimeUnit.SECONDS);
            Outcome o = report.byRecipient().values().iterator().next();
            return switch (o) {
                case Outcome.Delivered d -> Check.ok("send-test", "accepted for " + sendTest + ": " + d.detail());
                // a reply about the account (AccountReplies): the relay defers such mail, but it will not go out
                // until the account is fixed, so the doctor says so with the table's fix
                case Outcome.TransientFailure t when t.account() != null && t.account().alerts() ->
                        Check.fail("send-test", "refused because of the account (" + t.account().reason()
                                + "; the relay defers such mail, never bounces it): " + t.detail(),
                                t.account().fix());
                case Outcome.TransientFailure t -> Check.fail("send-test", "not accepted (temporary): " + t.detail(),
                        "retry later; if it persists, see the detail");
                case Outcome.PermanentFailure p -> Check.fail("send-test", "refused: " + p.detail(),
                        "the provider may accept only verified senders: try --from with a verified address");
            };
        } finally {
            Files.deleteIfExists(body);
        }
    }
}
