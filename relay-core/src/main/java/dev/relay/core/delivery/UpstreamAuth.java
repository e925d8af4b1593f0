package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import io.netty.handler.codec.smtp.SmtpRequests;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * The AUTH part of one connection's session (RFC 4954): picks the mechanism the configuration asks for among those
 * the upstream offers (PLAIN, LOGIN, or XOAUTH2 with its access token fetched from the {@link OAuth2TokenSource}
 * without blocking the event loop), answers the LOGIN prompts and the XOAUTH2 error challenge, and hands the
 * connection back to {@link SmtpClientHandler} when the upstream says 235.
 *
 * <p>Guarantees: credentials are never sent before TLS unless the upstream is {@code tls: none} on loopback; the
 * password and the token never reach a log line or a detail; any refusal of the relay's own credentials fails the
 * transaction transiently (the relay's problem, never the sender's), and a refused token is dropped from the cache.
 *
 * <p>One per connection, on the connection's event loop only (like Postfix's {@code smtp_sasl_proto.c} beside
 * {@code smtp_proto.c}).
 */
final class UpstreamAuth {
    private final SmtpClientHandler connection;
    private final ConnectionSettings settings;
    private final UpstreamTarget target;
    private String token;

    UpstreamAuth(SmtpClientHandler connection, ConnectionSettings settings) {
        this.connection = connection;
        this.settings = settings;
        this.target = settings.target();
    }

    /** Starts AUTH with the mechanism the configuration and the upstream's EHLO {@code offered} agree on. */
    void start(EhloExtensions offeredBy, boolean tlsActive) {
        if (!tlsActive && !plaintextAllowed()) {
            connection.quitAndFail("refusing to send credentials to " + settings.hostPort()
                    + " without TLS (tls: none is for loopback upstreams only)");
            return;
        }
        Set<String> offered = offeredBy.authMechanisms();
        switch (target.auth()) {
            case XOAUTH2 -> ifOffered("XOAUTH2", offered, this::fetchToken);
            case PLAIN -> ifOffered("PLAIN", offered, this::authPlain);
            case LOGIN -> ifOffered("LOGIN", offered, this::authLogin);
            case AUTO -> {
                if (offered.contains("PLAIN")) {
                    authPlain();
                } else if (offered.contains("LOGIN")) {
                    authLogin();
                } else {
                    noMechanism("PLAIN, LOGIN", offered);
                }
            }
        }
    }

    /** Plaintext credentials only where the configuration allows no TLS at all: a loopback upstream. */
    private boolean plaintextAllowed() {
        return target.tls() == TlsMode.NONE
                && connection.ctx().channel().remoteAddress() instanceof InetSocketAddress a
                && a.getAddress() != null && a.getAddress().isLoopbackAddress();
    }

    /** Authenticates with {@code mechanism} if the upstream offers it; else QUIT and a failure. */
    private void ifOffered(String mechanism, Set<String> offered, Runnable auth) {
        if (offered.contains(mechanism)) {
            auth.run();
        } else {
            noMechanism(mechanism, offered);
        }
    }

    private void noMechanism(String wanted, Set<String> offered) {
        connection.quitAndFail("upstream " + settings.hostPort() + " offers no supported AUTH mechanism (" + wanted
                + "); offered: " + offered);
    }

    private void authPlain() {
        byte[] secret = ("\0" + target.username() + "\0" + nullToEmpty(target.password()))
                .getBytes(StandardCharsets.UTF_8);
        connection.send(SmtpRequests.auth("PLAIN", Base64.getEncoder().encodeToString(secret)),
                "AUTH PLAIN ********", Step.AUTH, target.timeouts().command());
    }

    private void authLogin() {
        connection.send(SmtpRequests.auth("LOGIN"), "AUTH LOGIN", Step.AUTH_LOGIN_USER, target.timeouts().command());
    }

    /** Asks the token source (cached, or one HTTP request) without blocking the event loop. */
    private void fetchToken() {
        connection.await(Step.AUTH_TOKEN, target.timeouts().command());
        settings.tokens().token().whenComplete((t, error) -> connection.ctx().executor().execute(() -> onToken(t, error)));
    }

    private void onToken(String accessToken, Throwable error) {
        if (!connection.awaiting(Step.AUTH_TOKEN)) {
            return; // timed out or closed meanwhile
        }
        if (error != null) {
            connection.quitAndFail("cannot obtain an OAuth2 access token for upstream " + target.name() + ": "
                    + UpstreamTrouble.describe(error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error));
            return;
        }
        token = accessToken;
        connection.send(SmtpRequests.auth("XOAUTH2", Xoauth2.initialResponse(target.username(), accessToken)),
                "AUTH XOAUTH2 ********", Step.AUTH_XOAUTH2, target.timeouts().command());
    }

    /** The reply to AUTH XOAUTH2. */
    void onXoauth2(SmtpReply reply) {
        if (reply.code() == 235) {
            onAuth(reply);
            return;
        }
        settings.tokens().invalidate(token);
        if (reply.code() == 334) { // RFC 7628-style error challenge: answer with an empty line, get the real reply
            connection.send(SmtpRequests.empty(), "(empty line after the XOAUTH2 error challenge)", Step.AUTH,
                    target.timeouts().command());
        } else {
            authFailed(reply);
        }
    }

    /** The final reply to AUTH (any mechanism). */
    void onAuth(SmtpReply reply) {
        if (reply.code() == 235) {
            connection.authenticated();
        } else {
            if (token != null) {
                settings.tokens().invalidate(token);
            }
            authFailed(reply);
        }
    }

    /** A reply during AUTH LOGIN, while {@code step} asks for the username or the password. */
    void onLoginPrompt(Step step, SmtpReply reply) {
        if (reply.code() != 334) {
            authFailed(reply);
            return;
        }
        boolean user = step == Step.AUTH_LOGIN_USER;
        String value = user ? target.username() : nullToEmpty(target.password());
        connection.send(
                SmtpRequests.empty(Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))),
                "(AUTH LOGIN " + (user ? "username" : "password") + ")", user ? Step.AUTH_LOGIN_PASS : Step.AUTH,
                target.timeouts().command());
    }

    /** Any refusal of our credentials is the relay's problem, never the sender's: transient. */
    private void authFailed(SmtpReply reply) {
        connection.quitAndFail("authentication as " + target.username() + " to " + settings.hostPort() + " failed: "
                + reply,
                target.accountReplies().classify(AccountReplies.Phase.AUTH, reply));
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
