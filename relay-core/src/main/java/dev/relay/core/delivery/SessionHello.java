package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The opening of one connection's session: the greeting, EHLO (HELO when EHLO is refused and STARTTLS is not
 * required), and the STARTTLS upgrade (RFC 3207). Hands the upstream's extensions to {@link SmtpClientHandler},
 * which decides what comes next.
 *
 * <p>Guarantees: with {@code tls: starttls} nothing but EHLO and STARTTLS is sent before the handshake, an upstream
 * that does not offer STARTTLS is a transient failure (never a plaintext fallback), and nothing the upstream sent
 * before the handshake counts after it.
 *
 * <p>One per connection, on the connection's event loop only.
 */
final class SessionHello {
    private static final SmtpCommand STARTTLS = SmtpCommand.valueOf("STARTTLS");

    private final SmtpClientHandler connection;
    private final ConnectionSettings settings;
    private final UpstreamTarget target;

    SessionHello(SmtpClientHandler connection, ConnectionSettings settings) {
        this.connection = connection;
        this.settings = settings;
        this.target = settings.target();
    }

    void onGreeting(SmtpReply reply) {
        if (reply.code() == 220) {
            sendEhlo();
        } else if (reply.isTransient() || reply.isPermanent()) {
            connection.quitAndFail("upstream " + settings.hostPort() + " refused the session: " + reply);
        } else {
            connection.fail("protocol error: unexpected greeting from " + settings.hostPort() + ": " + reply);
        }
    }

    void sendEhlo() {
        connection.send(SmtpRequests.ehlo(heloName()), "EHLO " + heloName(), Step.EHLO, target.timeouts().command());
    }

    void onEhlo(SmtpReply reply) {
        if (reply.isPositive()) {
            connection.greeted(EhloExtensions.parse(reply));
        } else if (reply.isPermanent() && target.tls() != TlsMode.STARTTLS) {
            connection.send(SmtpRequests.helo(heloName()), "HELO " + heloName(), Step.HELO,
                    target.timeouts().command());
        } else {
            connection.quitAndFail("EHLO refused by " + settings.hostPort() + ": " + reply);
        }
    }

    void onHelo(SmtpReply reply) {
        if (reply.isPositive()) {
            connection.greeted(EhloExtensions.NONE);
        } else {
            connection.quitAndFail("HELO refused by " + settings.hostPort() + ": " + reply);
        }
    }

    /** STARTTLS, where the configuration asks for it and the upstream offers it. */
    void startTls(EhloExtensions extensions) {
        if (!extensions.startTls()) {
            connection.quitAndFail("upstream " + settings.hostPort()
                    + " does not offer STARTTLS; refusing to send in plaintext");
            return;
        }
        connection.send(new DefaultSmtpRequest(STARTTLS), "STARTTLS", Step.STARTTLS, target.timeouts().command());
    }

    void onStartTls(SmtpReply reply) {
        if (reply.code() != 220) {
            connection.quitAndFail("STARTTLS refused by " + settings.hostPort() + ": " + reply);
            return;
        }
        connection.await(Step.TLS_HANDSHAKE, target.timeouts().command());
        ChannelHandlerContext ctx = connection.ctx();
        // RFC 3207 section 6: nothing received before the handshake may count after it. Replacing the decoder
        // hands any bytes the old one still holds to channelRead (now, synchronously), which fails the delivery.
        ctx.pipeline().replace(SmtpResponseDecoder.class, NettyDeliveryEngine.DECODER,
                new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE));
        if (connection.step() != Step.TLS_HANDSHAKE) {
            return;
        }
        ctx.pipeline().addFirst("tls",
                ClientTlsContexts.newHandler(settings.tls(), ctx.alloc(), target.host(), target.port()));
    }

    /** The configured name, else the address literal of the local end of the connection (RFC 5321 4.1.3). */
    private String heloName() {
        if (settings.heloName() != null) {
            return settings.heloName();
        }
        SocketAddress local = connection.ctx().channel().localAddress();
        if (local instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String literal = inet.getAddress().getHostAddress();
            int zone = literal.indexOf('%');
            if (zone >= 0) {
                literal = literal.substring(0, zone);
            }
            return inet.getAddress() instanceof Inet6Address ? "[IPv6:" + literal + "]" : "[" + literal + "]";
        }
        return "localhost";
    }
}
