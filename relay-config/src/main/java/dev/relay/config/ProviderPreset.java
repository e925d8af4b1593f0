package dev.relay.config;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The providers an upstream can name with {@code provider:}. A preset fills what the upstream does not set itself:
 * the url (host, port 587, STARTTLS), a fixed user name where the provider has one, and the provider's documented
 * default sending rate. Every figure has its source beside it; where a provider documents no default rate, the
 * rate stays unlimited. This is data only: nothing else in the relay branches on the provider.
 */
public enum ProviderPreset {
    /**
     * Azure Communication Services Email.
     * Endpoint, port and user name form:
     * https://learn.microsoft.com/en-us/azure/communication-services/quickstarts/email/send-email-smtp/send-email-smtp
     * https://learn.microsoft.com/en-us/azure/communication-services/quickstarts/email/send-email-smtp/smtp-authentication
     * Rate: "Send Email, per subscription: 30 per minute, 100 per 60 minutes" (custom domains; higher limits on
     * request): https://learn.microsoft.com/en-us/azure/communication-services/concepts/service-limits#email
     * As one token bucket: 100 per hour = 0.0277 per second (rounded down), which keeps 30 per minute too.
     */
    ACS("acs", "Azure Communication Services", "smtp.azurecomm.net", null, null, null,
            "<ACS resource name>.<Entra application (client) id>.<Entra tenant id>, or the name of an SMTP "
                    + "Username resource of the ACS resource",
            "a client secret (its value) of that Entra application",
            new UpstreamConfig.Rate(0.0277, 0),
            "30 per minute and 100 per hour per subscription (custom domains), from "
                    + "https://learn.microsoft.com/en-us/azure/communication-services/concepts/service-limits#email",
            "https://learn.microsoft.com/en-us/azure/communication-services/quickstarts/email/send-email-smtp/smtp-authentication"),
    /**
     * Twilio SendGrid: host smtp.sendgrid.net, port 587, user name "the exact string apikey", password the API
     * key: https://www.twilio.com/docs/sendgrid/for-developers/sending-email/integrating-with-the-smtp-api
     * SendGrid documents limits per SMTP connection, not a default sending rate: the rate stays unlimited.
     */
    SENDGRID("sendgrid", "Twilio SendGrid", "smtp.sendgrid.net", null, null, "apikey",
            "the literal word apikey", "an API key with at least the Mail Send permission",
            UpstreamConfig.Rate.UNLIMITED, "none documented: unlimited (your plan's quota applies)",
            "https://www.twilio.com/docs/sendgrid/for-developers/sending-email/integrating-with-the-smtp-api"),
    /**
     * Mailgun: smtp.mailgun.org (US) or smtp.eu.mailgun.org (EU), port 587, the sending domain's SMTP credentials
     * (e.g. postmaster@mg.example.com): https://documentation.mailgun.com/docs/mailgun/user-manual/smtp-protocol/
     * No default sending rate is documented for SMTP: unlimited.
     */
    MAILGUN("mailgun", "Mailgun", null, new String[] {"us", "smtp.mailgun.org", "eu", "smtp.eu.mailgun.org"}, null,
            null,
            "the sending domain's SMTP login, e.g. postmaster@mg.example.com", "that login's SMTP password",
            UpstreamConfig.Rate.UNLIMITED, "none documented: unlimited",
            "https://documentation.mailgun.com/docs/mailgun/user-manual/smtp-protocol/smtp-relay"),
    /**
     * Amazon SES: email-smtp.&lt;region&gt;.amazonaws.com, STARTTLS on 587, SMTP credentials per region:
     * https://docs.aws.amazon.com/ses/latest/dg/smtp-connect.html and
     * https://docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html
     * Rate: a new account is in the sandbox, "1 email per second" and "200 emails per 24-hour period"; out of the
     * sandbox the quota "varies based on your specific use case": https://docs.aws.amazon.com/ses/latest/dg/quotas.html
     */
    SES("ses", "Amazon SES", "email-smtp.{region}.amazonaws.com", null,
            Pattern.compile("[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"), null,
            "the SMTP user name of SMTP credentials made for this region (not an IAM access key pair)",
            "the SMTP password of those credentials (44 characters; an IAM secret access key has 40)",
            new UpstreamConfig.Rate(1, 200),
            "the sandbox quota, 1 per second and 200 per 24 hours, from "
                    + "https://docs.aws.amazon.com/ses/latest/dg/quotas.html (set your account's own once out of "
                    + "the sandbox)",
            "https://docs.aws.amazon.com/ses/latest/dg/send-email-smtp.html"),
    /**
     * Microsoft 365 (Exchange Online) SMTP AUTH client submission: smtp.office365.com, port 587, STARTTLS, the
     * mailbox's credentials (or XOAUTH2): https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365
     * Rate: "Message rate limit (SMTP client submission only): 30 messages per minute" and "Recipient rate limit:
     * 10,000 recipients per day": https://learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits-1
     * The relay counts messages, Exchange counts recipients for the daily limit: 10,000 is an upper bound.
     */
    M365("m365", "Microsoft 365", "smtp.office365.com", null, null, null,
            "the mailbox, e.g. relay@example.com", "the mailbox's password (basic AUTH, if the tenant allows "
                    + "SMTP AUTH), or auth: xoauth2 with oauth2",
            new UpstreamConfig.Rate(0.5, 10_000),
            "30 messages per minute and 10,000 recipients per day, from "
                    + "https://learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits-1",
            "https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission"),
    /**
     * Gmail and Google Workspace: smtp.gmail.com, port 587, STARTTLS, an app password or XOAUTH2:
     * https://developers.google.com/gmail/imap/imap-smtp
     * Rate: Workspace documents "Messages per day: 2,000 (500 for trial accounts)"
     * (https://support.google.com/a/answer/166852); personal accounts differ, so the preset cannot know the
     * account's limit: unlimited, set rate.per-day to yours.
     */
    GMAIL("gmail", "Gmail / Google Workspace", "smtp.gmail.com", null, null, null,
            "the account's address", "an app password (the account password is refused), or auth: xoauth2 "
                    + "with oauth2",
            UpstreamConfig.Rate.UNLIMITED,
            "unlimited: the limit depends on the account (Google Workspace: 2,000 messages per day, 500 for "
                    + "trial accounts, https://support.google.com/a/answer/166852); set rate.per-day to yours",
            "https://developers.google.com/gmail/imap/imap-smtp"),
    /**
     * Postmark: smtp.postmarkapp.com, ports 25, 2525 or 587 with STARTTLS; the Server API token as both user name
     * and password, or an SMTP token's access key and secret key:
     * https://postmarkapp.com/support/article/811-what-are-the-smtp-details-api-tokens-i-should-be-using
     * No sending rate is documented: unlimited.
     */
    POSTMARK("postmark", "Postmark", "smtp.postmarkapp.com", null, null, null,
            "an SMTP token's access key, or the Server API token (then the same value as the password, and shown "
                    + "as ****)",
            "the SMTP token's secret key, or the Server API token",
            UpstreamConfig.Rate.UNLIMITED, "none documented: unlimited",
            "https://postmarkapp.com/support/article/811-what-are-the-smtp-details-api-tokens-i-should-be-using");

    /** Every preset uses the submission port with STARTTLS. */
    public static final int PORT = 587;

    private final String key;
    private final String title;
    private final String host;
    private final Map<String, String> regionHosts;
    private final Pattern regionPattern;
    private final String username;
    private final String usernameForm;
    private final String passwordForm;
    private final UpstreamConfig.Rate rate;
    private final String rateSource;
    private final String docs;
    private final boolean xoauth2;

    ProviderPreset(String key, String title, String host, String[] regionHosts, Pattern regionPattern,
                   String username, String usernameForm, String passwordForm, UpstreamConfig.Rate rate,
                   String rateSource, String docs) {
        this.key = key;
        this.title = title;
        this.host = host;
        if (regionHosts == null) {
            this.regionHosts = null;
        } else {
            this.regionHosts = new LinkedHashMap<>();
            for (int i = 0; i < regionHosts.length; i += 2) {
                this.regionHosts.put(regionHosts[i], regionHosts[i + 1]);
            }
        }
        this.regionPattern = regionPattern;
        this.username = username;
        this.usernameForm = usernameForm;
        this.passwordForm = passwordForm;
        this.rate = rate;
        this.rateSource = rateSource;
        this.docs = docs;
        this.xoauth2 = passwordForm.contains("auth: xoauth2");
    }

    /** The configuration spelling: {@code acs}, {@code sendgrid}, ... */
    public String key() {
        return key;
    }

    public String title() {
        return title;
    }

    /** The fixed user name (SendGrid's {@code apikey}), or null where it is the account's own. */
    public String username() {
        return username;
    }

    /** What the user name is, for messages and hints. */
    public String usernameForm() {
        return usernameForm;
    }

    /** What the password is, for messages and hints. */
    public String passwordForm() {
        return passwordForm;
    }

    /** The default rate (unlimited where the provider documents none). */
    public UpstreamConfig.Rate rate() {
        return rate;
    }

    /** Where the default rate comes from, or why there is none. */
    public String rateSource() {
        return rateSource;
    }

    /** The provider's own SMTP documentation. */
    public String docs() {
        return docs;
    }

    /** True if the provider accepts AUTH XOAUTH2 (Microsoft 365, Gmail): with oauth2 set, auth defaults to it. */
    public boolean xoauth2() {
        return xoauth2;
    }

    /** True if the endpoint depends on {@code region}. */
    public boolean needsRegion() {
        return regionHosts != null || regionPattern != null;
    }

    /** The valid regions, for messages: {@code us, eu} or a pattern's example. */
    public String regions() {
        if (regionHosts != null) {
            return String.join(", ", regionHosts.keySet());
        }
        return regionPattern == null ? "" : "an AWS region with SES, e.g. us-east-1, eu-west-1, ap-southeast-2";
    }

    /**
     * Null if {@code region} fits this preset, else what is wrong with it (naming the valid values).
     */
    public String regionProblem(String region) {
        if (!needsRegion()) {
            return region == null ? null : "provider: " + key + " takes no region: remove region (it is used "
                    + "by " + regionalKeys() + ")";
        }
        if (region == null || region.isBlank()) {
            return "provider: " + key + " needs region: " + regions();
        }
        if (regionHosts != null ? !regionHosts.containsKey(region)
                : !regionPattern.matcher(region).matches()) {
            return "not a " + title + " region: use " + regions();
        }
        return null;
    }

    /** The SMTP host for {@code region}, or null if the region does not fit (see {@link #regionProblem}). */
    public String host(String region) {
        if (regionProblem(region) != null) {
            return null;
        }
        if (regionHosts != null) {
            return regionHosts.get(region);
        }
        return regionPattern == null ? host : host.replace("{region}", region);
    }

    /** The url the preset fills for {@code region}, or null if the region does not fit. */
    public UpstreamUrl url(String region) {
        String h = host(region);
        return h == null ? null : new UpstreamUrl("smtp", h, PORT, null);
    }

    public static ProviderPreset parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        for (ProviderPreset p : values()) {
            if (p.key.equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown provider '" + value.trim() + "': use one of " + keys()
                + ", or leave provider out and set url yourself");
    }

    /** Every preset's key: {@code acs, sendgrid, ...}. */
    public static String keys() {
        return Arrays.stream(values()).map(ProviderPreset::key).collect(Collectors.joining(", "));
    }

    private static String regionalKeys() {
        return Arrays.stream(values()).filter(ProviderPreset::needsRegion).map(p -> "provider: " + p.key)
                .collect(Collectors.joining(" and "));
    }
}
