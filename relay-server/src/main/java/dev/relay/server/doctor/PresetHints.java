package dev.relay.server.doctor;

import dev.relay.config.ProviderPreset;
import dev.relay.config.UpstreamConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The usual mistakes with each provider preset, as one table: a row names the preset, the check that failed, a
 * pattern its detail (the provider's reply) must contain, and a condition on the configuration; the first
 * matching row's hint goes in front of the check's fix. Data, not code paths: a new mistake is a new row.
 */
final class PresetHints {
    /**
     * One usual mistake. {@code hint} may name {@code {region}}, replaced by the upstream's region.
     *
     * @param detail a pattern found in the failing check's detail; null: any detail
     * @param when   a condition on the upstream's configuration; null: always
     */
    record Hint(ProviderPreset preset, String check, Pattern detail, Predicate<UpstreamConfig> when, String hint) {
        /** The usual row: any detail, always. */
        Hint(ProviderPreset preset, String check, String hint) {
            this(preset, check, null, null, hint);
        }

        boolean matches(UpstreamConfig u, Check c) {
            return preset == u.provider() && check.equals(c.name())
                    && (detail == null || detail.matcher(c.detail()).find()) && (when == null || when.test(u));
        }
    }

    /** An IAM secret access key has 40 characters; an SES SMTP password (version byte + HMAC-SHA256, base64) 44. */
    private static final int IAM_SECRET_KEY_LENGTH = 40;

    static final List<Hint> TABLE = List.of(
            new Hint(ProviderPreset.SENDGRID, "auth", null, u -> !"apikey".equals(u.username()),
                    "SendGrid's SMTP user name is the literal word apikey, not the key or an account login: remove "
                            + "username (the preset fills apikey) and put the API key in password-file"),
            new Hint(ProviderPreset.SENDGRID, "auth",
                    "the password must be a SendGrid API key with the Mail Send permission (not the account "
                            + "password; a deleted or restricted key is refused): create one and put it in "
                            + "password-file"),
            new Hint(ProviderPreset.SES, "auth", null,
                    u -> u.password() != null && u.password().length() == IAM_SECRET_KEY_LENGTH,
                    "the password has 40 characters like an IAM secret access key, but SES wants SMTP credentials "
                            + "(the SMTP password has 44): create SMTP credentials for region {region} in the SES "
                            + "console (https://docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html)"),
            new Hint(ProviderPreset.SES, "auth",
                    "SES SMTP credentials are not IAM access keys and work only in the region they were made for: "
                            + "use SMTP credentials made for region {region}, or set region to theirs "
                            + "(https://docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html)"),
            new Hint(ProviderPreset.SES, "dns",
                    "the SES endpoint email-smtp.{region}.amazonaws.com exists only for regions with SES: check "
                            + "region (e.g. eu-west-1, us-east-1)"),
            new Hint(ProviderPreset.SES, "send-test", Pattern.compile("(?i)not verified"), null,
                    "SES sends only from verified identities (and, in the sandbox, only to them): verify the sender "
                            + "address or its domain in region {region}, or set rewrite-sender and rewrite-from on "
                            + "the route to a verified address"),
            new Hint(ProviderPreset.ACS, "auth",
                    "the ACS user name is <ACS resource name>.<Entra application (client) id>.<Entra tenant id> "
                            + "(or an SMTP Username resource's name), the password a client secret's value (not its "
                            + "id) of that Entra application, and the application needs a role on the "
                            + "Communication Services resource (e.g. Communication and Email Service Owner)"),
            new Hint(ProviderPreset.ACS, "send-test",
                    "ACS sends only from a MailFrom address of an email domain connected to the Communication "
                            + "Services resource: use --from with such an address, or set rewrite-sender and "
                            + "rewrite-from on the route"),
            new Hint(ProviderPreset.M365, "auth", Pattern.compile("5\\.7\\.139"), null,
                    "SMTP AUTH is disabled for this tenant or mailbox: enable authenticated SMTP for the mailbox "
                            + "(Exchange admin center, or Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled "
                            + "$false), or use auth: xoauth2 with oauth2, which Microsoft recommends"),
            new Hint(ProviderPreset.M365, "auth", Pattern.compile("5\\.7\\.30"), null,
                    "basic authentication is switched off: use auth: xoauth2 with oauth2"),
            new Hint(ProviderPreset.M365, "auth",
                    "the user is the mailbox's address and the password its own; security defaults or MFA block "
                            + "basic AUTH: use auth: xoauth2 with oauth2"),
            new Hint(ProviderPreset.M365, "send-test", Pattern.compile("SendAsDenied"), null,
                    "the mailbox may not send as that sender: send from the mailbox's own address (--from), or "
                            + "set rewrite-sender and rewrite-from on the route"),
            new Hint(ProviderPreset.GMAIL, "auth",
                    "Gmail refuses the account's own password: use an app password (it needs 2-Step "
                            + "Verification) or auth: xoauth2 with oauth2"),
            new Hint(ProviderPreset.MAILGUN, "auth",
                    "use the sending domain's SMTP credentials (e.g. postmaster@mg.example.com and its SMTP "
                            + "password), not the account login or an API key; US and EU accounts are separate: "
                            + "region must be the domain's (now {region})"),
            new Hint(ProviderPreset.POSTMARK, "auth",
                    "Postmark's user name and password are both the Server API token (or an SMTP token's access "
                            + "key and secret key)"));

    private PresetHints() {
    }

    /**
     * Before any network check: a url of the upstream's own next to a preset that names another host than the
     * preset's (the usual wrong SES or Mailgun region). Empty without a preset or without such a url.
     */
    static List<Check> configChecks(UpstreamConfig u) {
        ProviderPreset p = u.provider();
        String host = p == null ? null : p.host(u.region());
        if (host == null || u.url() == null || u.presetFilled().contains("url") || u.url().isLoopback()
                || host.equalsIgnoreCase(u.host())) {
            return List.of();
        }
        return List.of(Check.warn("preset", "url names " + u.host() + ", but provider " + p.key()
                        + (u.region() == null ? "" : " in region " + u.region()) + " is at " + host,
                "check region (SES credentials and verified identities belong to one region; Mailgun's US and EU "
                        + "are separate), or remove url to use the preset's host"));
    }

    /**
     * The checks, each failing or warning one with the first matching hint put in front of its fix (the general
     * fix follows, after "otherwise:").
     */
    static List<Check> apply(UpstreamConfig u, List<Check> checks) {
        if (u.provider() == null) {
            return checks;
        }
        List<Check> out = new ArrayList<>();
        for (Check c : checks) {
            Hint hint = c.verdict() == Check.Verdict.FAIL || c.verdict() == Check.Verdict.WARN
                    ? TABLE.stream().filter(h -> h.matches(u, c)).findFirst().orElse(null) : null;
            out.add(hint == null ? c : new Check(c.name(), c.verdict(), c.detail(), u.provider().key() + ": "
                    + hint.hint().replace("{region}", String.valueOf(u.region()))
                    + (c.fix().isEmpty() ? "" : "; otherwise: " + c.fix())));
        }
        return out;
    }
}
