package dev.relay.core.delivery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which upstream replies are about the relay's <em>account</em> at the provider, not about the message: a table of
 * reply patterns (data, not code paths), per provider preset and generic, plus the user's own from
 * {@code upstreams[].account-replies}. A reply that matches is never the message's fault: its recipients fail
 * transiently (whatever the code), so the queue defers them and never bounces them for it; the action says what
 * else happens:
 * <ul>
 *   <li>{@link Action#SLOW_DOWN}: the upstream is throttling: the engine's back-pressure slows it down;</li>
 *   <li>{@link Action#DEFER}: a quota is used up: the message waits at least {@code deferFor} (when set), and
 *       {@code relay_upstream_account_problem} is raised (a WARN line);</li>
 *   <li>{@link Action#ACCOUNT_PROBLEM}: the account cannot send until someone changes a setting: the message waits,
 *       {@code relay_upstream_account_problem} is raised with one ERROR line that names the fix.</li>
 * </ul>
 * A reply no pattern matches is classified by its code as before (5xx: the message's own failure). The first
 * matching rule wins: the user's, then the provider's, then the generic ones. Patterns are matched (find) against
 * the reply as logged: code, enhanced code and text on one line ({@code 550 5.4.5 Daily user sending limit
 * exceeded}). Every built-in pattern names its source beside it.
 */
public final class AccountReplies {
    /** What a matching reply means. */
    public enum Action {
        SLOW_DOWN, DEFER, ACCOUNT_PROBLEM;

        /** The configuration spelling: {@code slow-down}, {@code defer}, {@code account-problem}. */
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        public static Action parse(String value) {
            for (Action a : values()) {
                if (a.key().equalsIgnoreCase(value.trim())) {
                    return a;
                }
            }
            throw new IllegalArgumentException("unknown action '" + value + "': use slow-down, defer or "
                    + "account-problem");
        }
    }

    /** Where in the session the reply came: to AUTH, to MAIL FROM, to a RCPT TO, to DATA or after the data. */
    public enum Phase {
        AUTH, MAIL, RCPT, DATA;

        /** The phase a reply in {@code step} of the client's state machine belongs to. */
        static Phase of(Step step) {
            return switch (step) {
                case AUTH, AUTH_XOAUTH2, AUTH_LOGIN_USER, AUTH_LOGIN_PASS -> AUTH;
                case RCPT -> RCPT;
                case DATA, DATA_BODY, DATA_END, EMPTY_DATA_END -> DATA;
                default -> MAIL;
            };
        }
    }

    /**
     * What the table made of one reply.
     *
     * @param deferFor null (the usual backoff), or the least time the message waits before it is tried again
     */
    public record Verdict(Action action, String reason, String fix, Duration deferFor) {
        public Verdict {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(reason, "reason");
            fix = fix == null ? "" : fix;
        }

        /** Whether this raises {@code relay_upstream_account_problem}: a used-up quota or an account problem. */
        public boolean alerts() {
            return action != Action.SLOW_DOWN;
        }
    }

    /**
     * One row of the table.
     *
     * @param provider null for every upstream, else the preset key ({@code m365}) it applies to
     * @param phases   where the reply must come to match
     * @param source   where the reply is documented (a URL), for the reader of the table
     */
    public record Rule(String provider, Set<Phase> phases, Pattern pattern, Verdict verdict, String source) {
        public Rule {
            phases = phases == null || phases.isEmpty() ? EnumSet.allOf(Phase.class) : EnumSet.copyOf(phases);
            Objects.requireNonNull(pattern, "pattern");
            Objects.requireNonNull(verdict, "verdict");
        }

        boolean matches(Phase phase, String reply) {
            return phases.contains(phase) && pattern.matcher(reply).find();
        }
    }

    private static final Set<Phase> ANY = EnumSet.allOf(Phase.class);
    private static final Set<Phase> AUTH_OR_MAIL = EnumSet.of(Phase.AUTH, Phase.MAIL);
    /** Not a recipient's full mailbox (RFC 3463 x.2.2, "mailbox ... quota"): that one is the message's. */
    private static final String NOT_MAILBOX = "^(?![0-9]{3} [45]\\.2\\.2)(?!.*(?i:mailbox))";

    /** The built-in rows, providers first, then the generic ones. */
    public static final List<Rule> BUILT_IN = List.of(
            // Microsoft 365. The 5.7.139 reply: https://docs.bookyourpto.com/features/smtp-troubleshoot (and
            // https://inflowave.netlify.app/resources/smtp-credentials-microsoft-365); the switch:
            // https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission
            problem("m365", AUTH_OR_MAIL, "^535 5\\.7\\.139\\b", "smtp_auth_disabled",
                    "SMTP AUTH is off for the tenant or the mailbox: turn it on (Exchange admin center, or "
                            + "Set-CASMailbox -SmtpClientAuthenticationDisabled $false), or use auth: xoauth2",
                    "https://docs.bookyourpto.com/features/smtp-troubleshoot"),
            // 550 5.7.30 "Basic authentication is not supported for Client Submission":
            // https://www.captaindns.com/en/blog/microsoft-exchange-basic-auth-smtp-end
            problem("m365", AUTH_OR_MAIL, "^5[0-9]{2} 5\\.7\\.30\\b", "basic_auth_unsupported",
                    "basic authentication is off for this mailbox: switch the upstream to auth: xoauth2 (with oauth2)",
                    "https://www.captaindns.com/en/blog/microsoft-exchange-basic-auth-smtp-end"),
            // 554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException...:
            // http://www.kouhan.cn/en/article/00038744
            problem("m365", EnumSet.of(Phase.MAIL, Phase.DATA), "^554 5\\.2\\.0\\b.*SendAsDenied", "send_as_denied",
                    "the mailbox may not send as this sender: grant it Send As, or rewrite the sender to the mailbox "
                            + "(rewrite-sender)",
                    "http://www.kouhan.cn/en/article/00038744"),
            // Amazon SES: https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html
            new Rule("ses", ANY, Pattern.compile("^454 Throttling failure: Maximum sending rate exceeded"),
                    new Verdict(Action.SLOW_DOWN, "sending_rate", "lower rate.per-second to the account's "
                            + "maximum sending rate", null),
                    "https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html"),
            // the daily quota is a rolling 24-hour window (same page): some of it reopens within the hour
            new Rule("ses", ANY, Pattern.compile("^454 Throttling failure: Daily message quota exceeded"),
                    new Verdict(Action.DEFER, "daily_quota", "the account's 24-hour sending quota is used up: "
                            + "wait, or request a higher quota (set rate.per-day to it)", Duration.ofHours(1)),
                    "https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html"),
            // https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html
            problem("ses", EnumSet.of(Phase.MAIL, Phase.RCPT, Phase.DATA),
                    "^554 Message rejected: Email address is not verified", "sender_not_verified",
                    "verify the sender's address or domain in SES in this region (in the sandbox, the recipients' too)",
                    "https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html"),
            // "Account is paused": sending is stopped for the whole account (same page; it shows no reply code)
            problem("ses", ANY, "(?i)\\bAccount is paused\\b", "account_paused", "SES paused the account's "
                    + "sending: see the notice sent to the AWS account's address and resolve the review",
                    "https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html"),
            // Gmail / Workspace: a rolling 24-hour limit (https://support.google.com/a/answer/166852); the reply:
            // https://www.simplefastwebsites.com/errors/email/smtp-550-5-4-5-daily-sending-quota-exceeded-gmail/
            new Rule("gmail", ANY, Pattern.compile("^55[0-9] 5\\.4\\.5 Daily user sending (limit|quota) exceeded"),
                    new Verdict(Action.DEFER, "daily_limit", "the account's daily sending limit is reached: "
                            + "wait for the 24-hour window, or set rate.per-day below the limit",
                            Duration.ofHours(24)),
                    "https://support.google.com/a/answer/166852"),
            // 421 4.7.0 and 450 4.2.1 rate limits: as quoted in issue #21
            new Rule("gmail", ANY, Pattern.compile("^(421 4\\.7\\.0|450 4\\.2\\.1)\\b"),
                    new Verdict(Action.SLOW_DOWN, "rate_limit", "lower rate.per-second", null), "issue #21"),
            // Twilio SendGrid:
            // https://www.twilio.com/docs/sendgrid/for-developers/sending-email/smtp-errors-and-troubleshooting
            problem("sendgrid", ANY, "^451 Authentication failed: Maximum credits exceeded", "credits_exceeded",
                    "the account's credit limit is reached: contact SendGrid support to lift it",
                    "https://www.twilio.com/docs/sendgrid/for-developers/sending-email/smtp-errors-and-troubleshooting"),
            problem("sendgrid", ANY,
                    "^403 You are not authorized to send from that email address", "sender_not_verified",
                    "the From address is not a verified Sender Identity: verify it (single sender or domain "
                            + "authentication)",
                    "https://www.twilio.com/docs/sendgrid/for-developers/sending-email/smtp-errors-and-troubleshooting"),
            // 550 "The from address does not match a verified Sender Identity", after the data, as captured in
            // https://github.com/CoderBounty/coderbounty/issues/364 (the same cause as the 403 row)
            problem("sendgrid", EnumSet.of(Phase.MAIL, Phase.RCPT, Phase.DATA),
                    "^550 The from address does not match a verified Sender Identity", "sender_not_verified",
                    "the From address is not a verified Sender Identity: verify it (single sender or domain "
                            + "authentication), or rewrite-from to a verified address",
                    "https://github.com/CoderBounty/coderbounty/issues/364"),
            // 535 "Authentication failed: Bad username / password" (no enhanced code, so the generic row misses it),
            // in a captured session: https://github.com/sendgrid/docs/issues/2491
            problem("sendgrid", EnumSet.of(Phase.AUTH), "^535 Authentication failed", "authentication",
                    "SendGrid refuses the credentials: the user name must be the literal word apikey and the password "
                            + "an API key with the Mail Send permission (a deleted or revoked key is refused)",
                    "https://github.com/sendgrid/docs/issues/2491"),
            // 550 "Unauthenticated senders not allowed" at MAIL: https://github.com/sendgrid/docs/issues/6473
            problem("sendgrid", EnumSet.of(Phase.MAIL), "^550 Unauthenticated senders not allowed", "not_authenticated",
                    "SendGrid takes mail only after AUTH: set password-file to an API key (the preset fills the user "
                            + "name apikey)", "https://github.com/sendgrid/docs/issues/6473"),
            // Mailgun: 421 "Domain <d> is not allowed to send: Sandbox subdomains are for test purposes only..."
            // after the data: https://github.com/baserow/baserow/issues/1776 (a sandbox domain or a free account
            // sends only to authorized recipients: https://help.mailgun.com/hc/en-us/articles/217531258; a disabled
            // domain sends nothing: https://help.mailgun.com/hc/en-us/articles/202051664)
            problem("mailgun", ANY, "^421 Domain \\S+ is not allowed to send", "domain_not_allowed",
                    "the Mailgun domain may not send this: a sandbox domain or a free account sends only to "
                            + "Authorized Recipients (add the recipient, or add and verify your own domain and use "
                            + "its SMTP credentials); a disabled domain needs Mailgun support",
                    "https://github.com/baserow/baserow/issues/1776"),
            // Azure Communication Services: 535 5.7.3 to AUTH when the Entra application's credentials or role are
            // wrong: https://github.com/jstedfast/MailKit/issues/1967 (the user name forms:
            // https://learn.microsoft.com/en-us/azure/communication-services/quickstarts/email/send-email-smtp/smtp-authentication)
            problem("acs", EnumSet.of(Phase.AUTH), "^535 5\\.7\\.3\\b", "authentication",
                    "ACS refuses the credentials: the user name is <ACS resource>.<Entra application id>.<Entra "
                            + "tenant id> (or an SMTP Username resource's name), the password a client secret's "
                            + "value, and the Entra application needs a role on the Communication Services resource",
                    "https://github.com/jstedfast/MailKit/issues/1967"),
            // Gmail: 535 5.7.8 "Username and Password not accepted" (no word "authentication" for the generic row):
            // https://github.com/sendgrid/sendgrid-nodejs/issues/1339 (a Gmail reply quoted there)
            problem("gmail", EnumSet.of(Phase.AUTH), "^535 5\\.7\\.8 Username and Password not accepted",
                    "authentication", "Gmail refuses the password: use an app password (it needs 2-Step "
                            + "Verification), or auth: xoauth2 with oauth2",
                    "https://github.com/sendgrid/sendgrid-nodejs/issues/1339"),
            // generic: a 5.7.x at AUTH or MAIL that names authentication (RFC 3463 X.7: security or policy)
            problem(null, AUTH_OR_MAIL, "^5[0-9]{2} 5\\.7\\.[0-9]{1,3} .*(?i:authenticat)", "authentication",
                    "the upstream refuses the relay's authentication: check the credentials and that the account may "
                            + "use SMTP AUTH",
                    "https://www.rfc-editor.org/rfc/rfc3463#section-3.8"),
            // generic: any reply naming a quota or a sending limit (not a recipient's mailbox quota) or a rate
            new Rule(null, ANY, Pattern.compile(NOT_MAILBOX + ".*(?i:\\bquota\\b|\\bsending limit\\b)"),
                    new Verdict(Action.DEFER, "quota", "a sending quota of the account is used up: wait, or "
                            + "raise it with the provider", null), "issue #21"),
            new Rule(null, ANY, Pattern.compile(NOT_MAILBOX + ".*(?i:\\brate limit|\\bsending rate|\\brate exceeded)"),
                    new Verdict(Action.SLOW_DOWN, "rate", "lower rate.per-second", null), "issue #21"));

    /** An {@link Action#ACCOUNT_PROBLEM} row: the account cannot send until someone applies {@code fix}. */
    private static Rule problem(String provider, Set<Phase> phases, String regex, String reason, String fix,
                                String source) {
        return new Rule(provider, phases, Pattern.compile(regex), new Verdict(Action.ACCOUNT_PROBLEM, reason, fix,
                null), source);
    }

    /** No user rows, no provider: the generic rows only. */
    public static final AccountReplies GENERIC = new AccountReplies(null, List.of());

    private final List<Rule> rules;

    /**
     * @param provider the upstream's preset key ({@code m365}), or null: only the generic built-in rows apply
     * @param user     the user's rows, tried first
     */
    public AccountReplies(String provider, List<Rule> user) {
        List<Rule> all = new ArrayList<>(user);
        for (Rule r : BUILT_IN) {
            if (r.provider() == null || r.provider().equals(provider)) {
                all.add(r);
            }
        }
        this.rules = List.copyOf(all);
    }

    /** The verdict on {@code reply} (code, enhanced code and text on one line) in {@code phase}, or null. */
    public Verdict classify(Phase phase, String reply) {
        if (reply == null || reply.startsWith("2") || reply.startsWith("3")) {
            return null;
        }
        for (Rule r : rules) {
            if (r.matches(phase, reply)) {
                return r.verdict();
            }
        }
        return null;
    }

    Verdict classify(Phase phase, SmtpReply reply) {
        return reply.isTransient() || reply.isPermanent() ? classify(phase, reply.toString()) : null;
    }

    public List<Rule> rules() {
        return rules;
    }
}
