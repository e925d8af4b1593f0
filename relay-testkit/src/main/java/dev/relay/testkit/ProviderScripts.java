package dev.relay.testkit;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * A {@link TestUpstream} that answers as each provider preset does (Azure Communication Services, SendGrid, Mailgun,
 * Amazon SES, Microsoft 365, Gmail, Postmark): its greeting, its EHLO keywords and AUTH mechanisms, and its replies
 * about the relay's <em>account</em> (an authentication refused, a sender not verified, a quota used up) at the
 * phase where the provider gives them. Data, not code: one table of providers and one of their account problems; a
 * new case is a new row.
 *
 * <p>Where a row's text comes from is named beside it (a documentation page, or a session captured in a public
 * issue). What no source showed is said so: those rows play what the relay's generic rows must catch.
 */
public final class ProviderScripts {
    /** Where in the session the provider gives the reply. */
    public enum Phase { AUTH, MAIL, RCPT, DATA }

    /**
     * How one provider talks before any mail.
     *
     * @param preset   the relay's {@code provider:} key
     * @param greeting the text after "220 "
     * @param ehlo     the EHLO keyword lines in the provider's order (see {@link TestUpstream#extensions})
     */
    public record Provider(String preset, String greeting, List<String> ehlo) {}

    /**
     * One account problem as the provider replies it.
     *
     * @param name   a short name for the row (test names)
     * @param source where the reply's text was found
     */
    public record Problem(Provider provider, String name, Phase phase, String reply, String source) {
        public String preset() {
            return provider.preset();
        }

        @Override
        public String toString() {
            return provider.preset() + " " + name;
        }
    }

    /**
     * ACS: STARTTLS and AUTH LOGIN on 587 as its SMTP quickstart uses them (https://learn.microsoft.com/en-us/
     * azure/communication-services/quickstarts/email/send-email-smtp/send-email-smtp);
     * no capture of its greeting or other keywords was found, so none is offered.
     */
    public static final Provider ACS = new Provider("acs", "smtp.azurecomm.net ESMTP",
            List.of("STARTTLS", "AUTH LOGIN"));
    /** A captured session: https://github.com/sendgrid/docs/issues/2491 */
    public static final Provider SENDGRID = new Provider("sendgrid",
            "SG ESMTP service ready at ismtpd0003p1lon1.sendgrid.net",
            List.of("8BITMIME", "PIPELINING", "SIZE 31457280", "STARTTLS", "AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN"));
    /**
     * Mailgun: PLAIN and LOGIN over STARTTLS
     * (https://documentation.mailgun.com/docs/mailgun/user-manual/smtp-protocol/); the other keywords as commonly
     * captured, not documented.
     */
    public static final Provider MAILGUN = new Provider("mailgun", "smtp.mailgun.org ESMTP ready",
            List.of("AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE 52428800", "SMTPUTF8", "STARTTLS",
                    "8BITMIME"));
    /** Amazon SES as commonly captured (its 10 MB limit: https://docs.aws.amazon.com/ses/latest/dg/quotas.html). */
    public static final Provider SES = new Provider("ses", "email-smtp.amazonaws.com ESMTP SimpleEmailService-d-TEST",
            List.of("8BITMIME", "SIZE 10485760", "STARTTLS", "AUTH PLAIN LOGIN", "Ok"));
    /** Exchange Online client submission as commonly captured (after STARTTLS: AUTH LOGIN XOAUTH2). */
    public static final Provider M365 = new Provider("m365",
            "SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready",
            List.of("SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH LOGIN XOAUTH2",
                    "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"));
    /** smtp.gmail.com as commonly captured (after STARTTLS). */
    public static final Provider GMAIL = new Provider("gmail", "smtp.gmail.com ESMTP a640c23a62f3a-test - gsmtp",
            List.of("SIZE 35882577", "8BITMIME", "STARTTLS",
                    "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", "ENHANCEDSTATUSCODES",
                    "PIPELINING", "CHUNKING", "SMTPUTF8"));
    /** Postmark: STARTTLS on 587 (https://postmarkapp.com/support/article/common-smtp-connection-errors). */
    public static final Provider POSTMARK = new Provider("postmark", "smtp.postmarkapp.com ESMTP",
            List.of("PIPELINING", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN"));

    /** The account problems, each at the phase the provider gives it. */
    public static final List<Problem> PROBLEMS = List.of(
            new Problem(ACS, "credentials", Phase.AUTH, "535 5.7.3 Authentication unsuccessful",
                    "https://github.com/jstedfast/MailKit/issues/1967"),
            new Problem(SENDGRID, "credentials", Phase.AUTH, "535 Authentication failed: Bad username / password",
                    "https://github.com/sendgrid/docs/issues/2491"),
            new Problem(SENDGRID, "unverified-sender", Phase.DATA, "550 The from address does not match a verified "
                    + "Sender Identity. Mail cannot be sent until this error is resolved.",
                    "https://github.com/CoderBounty/coderbounty/issues/364"),
            new Problem(MAILGUN, "sandbox-domain", Phase.DATA, "421 Domain sandbox0123.mailgun.org is not allowed to "
                    + "send: Sandbox subdomains are for test purposes only. Please add your own domain or add the "
                    + "address to authorized recipients in Account Settings.",
                    "https://github.com/baserow/baserow/issues/1776"),
            new Problem(SES, "unverified-sender", Phase.DATA, "554 Message rejected: Email address is not verified. "
                    + "The following identities failed the check in region EU-WEST-1: app@example.com",
                    "https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html"),
            new Problem(SES, "daily-quota", Phase.MAIL, "454 Throttling failure: Daily message quota exceeded",
                    "https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html"),
            new Problem(M365, "smtp-auth-disabled", Phase.AUTH, "535 5.7.139 Authentication unsuccessful, "
                    + "SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled "
                    + "for more information.", "https://docs.bookyourpto.com/features/smtp-troubleshoot"),
            new Problem(GMAIL, "daily-limit", Phase.MAIL, "550 5.4.5 Daily user sending limit exceeded. For more "
                    + "information on Gmail sending limits go to https://support.google.com/a/answer/166852",
                    "https://support.google.com/a/answer/166852"),
            // no Postmark SMTP reply about the account was found: this text plays what the generic
            // authentication row must catch
            new Problem(POSTMARK, "credentials", Phase.AUTH, "535 5.7.8 Authentication failed: invalid token",
                    "none found (generic row)"));

    /** The reply to AUTH once the account problem is over. */
    public static final String AUTH_ACCEPTED = "235 2.7.0 Authentication successful";

    private ProviderScripts() {
    }

    /** The row of {@code preset} named {@code name}. */
    public static Problem problem(String preset, String name) {
        return PROBLEMS.stream().filter(p -> p.preset().equals(preset) && p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no row " + preset + " " + name + " in "
                        + Arrays.toString(PROBLEMS.toArray())));
    }

    /** An upstream playing the provider with the account problem on, until {@link #end()}. */
    public static final class Scripted implements AutoCloseable {
        public final TestUpstream upstream;
        public final Problem problem;
        private volatile boolean on = true;

        private Scripted(TestUpstream upstream, Problem problem) {
            this.upstream = upstream;
            this.problem = problem;
            upstream.greeting(problem.provider().greeting())
                    .extensions(problem.provider().ehlo().toArray(String[]::new));
            String reply = problem.reply();
            switch (problem.phase()) {
                case AUTH -> upstream.authReply(reply);
                case MAIL -> upstream.mailReply(n -> on ? reply : null);
                case RCPT -> upstream.rcptReply(a -> on ? reply : null);
                case DATA -> upstream.dataReply(n -> on ? reply : null);
            }
        }

        /** The account problem is over (the admin fixed it, the quota reopened): the provider accepts again. */
        public void end() {
            on = false;
            if (problem.phase() == Phase.AUTH) {
                upstream.authReply(AUTH_ACCEPTED);
            }
        }

        public int port() {
            return upstream.port();
        }

        @Override
        public void close() throws IOException {
            upstream.close();
        }
    }

    /** Plain SMTP playing {@code problem}'s provider (STARTTLS is not said: there is no certificate). */
    public static Scripted plain(Problem problem) throws IOException {
        return new Scripted(TestUpstream.plain(), problem);
    }

    /** The same with STARTTLS offered with {@code context}. */
    public static Scripted withStartTls(Problem problem, SSLContext context) throws IOException {
        return new Scripted(TestUpstream.withStartTls(context, (n, s) -> s.serve()), problem);
    }
}
