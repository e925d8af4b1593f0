package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.MailAddress;
import dev.relay.core.spool.Body;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.smtp.SmtpRequestEncoder;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client state machine on an EmbeddedChannel: bytes in, bytes out, no sockets. */
class SmtpClientHandlerTest {
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final MailAddress CAROL = MailAddress.of("carol@example.net");
    private static final UpstreamTarget TARGET = new UpstreamTarget("embedded", "127.0.0.1", 2525, TlsMode.NONE,
            null, null, null, UpstreamTarget.Timeouts.rfc5321());

    @TempDir
    Path dir;

    private final List<SmtpReply> throttles = new CopyOnWriteArrayList<>();
    private final List<SmtpClientHandler> idles = new CopyOnWriteArrayList<>();
    private final List<DeliveryJob> retries = new CopyOnWriteArrayList<>();
    private final ConnectionOwner owner = new ConnectionOwner() {
        @Override
        public void idle(SmtpClientHandler connection) {
            idles.add(connection);
        }

        @Override
        public void retry(DeliveryJob job) {
            retries.add(job);
        }

        @Override
        public void throttled(SmtpReply reply) {
            throttles.add(reply);
        }
    };

    @Test
    void multiLineEhloReplyIsOneReplyAndPipeliningSendsTheWholeFlightAtOnce() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = channel(job("Subject: x\r\n\r\nbody\r\n", result, BOB, CAROL));

        in(ch, "220 fake ESMTP\r\n");
        assertThat(out(ch)).isEqualTo("EHLO relay.test\r\n");
        in(ch, "250-fake hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");

        assertThat(out(ch)).isEqualTo("MAIL FROM:<alice@example.org> SIZE=20\r\nRCPT TO:<bob@example.net>\r\n"
                + "RCPT TO:<carol@example.net>\r\nDATA\r\n");
        assertThat(result).isNotDone();
    }

    @Test
    void pipelinedRepliesAreMatchedToTheirCommandsInOrder() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("Subject: x\r\n\r\nbody\r\n", result, BOB, CAROL));

        in(ch, "250 2.1.0 sender ok\r\n250 2.1.5 bob ok\r\n550 5.1.1 carol unknown\r\n354 go ahead\r\n");
        assertThat(out(ch)).isEqualTo("Subject: x\r\n\r\nbody\r\n.\r\n");
        in(ch, "250 2.0.0 queued\r\n");

        assertThat(result.getNow(null).byRecipient()).containsExactly(
                java.util.Map.entry(BOB, new Delivered("250 2.0.0 queued")),
                java.util.Map.entry(CAROL, new PermanentFailure("550 5.1.1 carol unknown")));
        assertThat(out(ch)).isEmpty(); // idle at once; RSET goes out with the next message's flight
        assertThat(idles).hasSize(1);

        CompletableFuture<DeliveryReport> next = new CompletableFuture<>();
        assertThat(idles.get(0).start(job("y\r\n", next, CAROL))).isTrue();
        assertThat(out(ch)).isEqualTo("RSET\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.net>\r\n"
                + "DATA\r\n");
        in(ch, "250 2.0.0 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n");
        assertThat(out(ch)).isEqualTo("y\r\n.\r\n");
        in(ch, "250 2.0.0 queued again\r\n");
        assertThat(next.getNow(null).byRecipient().get(CAROL)).isEqualTo(new Delivered("250 2.0.0 queued again"));
    }

    @Test
    void pipelinedDataAcceptedWithoutAnyRecipientGetsOnlyTheTerminatingDot() throws Exception {
        // RFC 2920 section 3.1: the client must not send the content, and must answer a 354 with "." alone
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("Subject: secret\r\n\r\nbody\r\n", result, BOB, CAROL));

        in(ch, "250 ok\r\n550 5.1.1 bob unknown\r\n450 4.2.1 carol busy\r\n354 go ahead\r\n");

        assertThat(out(ch)).isEqualTo(".\r\n");
        in(ch, "554 5.5.1 no valid recipients\r\n");
        assertThat(result.getNow(null).byRecipient()).containsExactly(
                java.util.Map.entry(BOB, new PermanentFailure("550 5.1.1 bob unknown")),
                java.util.Map.entry(CAROL, new TransientFailure("450 4.2.1 carol busy")));
        assertThat(out(ch)).isEmpty();
        assertThat(idles).hasSize(1); // a 5xx leaves the connection usable; the next flight starts with RSET
    }

    @Test
    void refusedSenderDecidesEveryRecipientWhateverTheRcptRepliesSay() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("x\r\n", result, BOB, CAROL));

        in(ch, "451 4.3.0 try later\r\n503 5.5.1 sender first\r\n503 5.5.1 sender first\r\n"
                + "503 5.5.1 no valid recipients\r\n");

        assertThat(result.getNow(null).byRecipient().values())
                .containsOnly(new TransientFailure("451 4.3.0 try later"));
        assertThat(out(ch)).isEqualTo("QUIT\r\n"); // a 4xx: the connection is not reused
    }

    @Test
    void throttlingReplyIsReportedToTheOwnerAndTheConnectionIsNotReused() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("x\r\n", result, BOB));

        in(ch, "454 Throttling failure: Maximum sending rate exceeded.\r\n503 no\r\n503 no\r\n");

        assertThat(throttles).singleElement().satisfies(r -> assertThat(r.code()).isEqualTo(454));
        assertThat(result.getNow(null).byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
        assertThat(out(ch)).isEqualTo("QUIT\r\n");
    }

    @Test
    void lockstepWithoutPipeliningWaitsForEachReply() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = channel(job("x\r\n", result, BOB, CAROL));
        in(ch, "220 fake\r\n");
        out(ch);
        in(ch, "250 fake\r\n");

        assertThat(out(ch)).isEqualTo("MAIL FROM:<alice@example.org>\r\n");
        in(ch, "250 ok\r\n");
        assertThat(out(ch)).isEqualTo("RCPT TO:<bob@example.net>\r\n");
        in(ch, "250 ok\r\n");
        assertThat(out(ch)).isEqualTo("RCPT TO:<carol@example.net>\r\n");
        in(ch, "250 ok\r\n");
        assertThat(out(ch)).isEqualTo("DATA\r\n");
    }

    @Test
    void aLineThatIsASingleDotIsDoubledAndAMissingFinalCrlfIsAdded() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("Subject: dots\r\n\r\n.\r\n..\r\n.x\nlast line", result, BOB));

        in(ch, "250 ok\r\n250 ok\r\n354 go\r\n");

        assertThat(out(ch)).isEqualTo("Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nlast line\r\n.\r\n");
    }

    @Test
    void emptyMessageIsJustTheTerminator() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("", result, BOB));

        in(ch, "250 ok\r\n250 ok\r\n354 go\r\n");

        assertThat(out(ch)).isEqualTo(".\r\n");
    }

    @Test
    void replyCodeOutsideTwoToFiveHundredIsAProtocolErrorAndCloses() throws Exception {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("x\r\n", result, BOB));

        in(ch, "650 what\r\n");

        assertThat(result.getNow(null).byRecipient().get(BOB).detail()).startsWith("protocol error");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void reusedConnectionThatDiesBeforeAnyReplyHandsTheMessageToAnotherConnectionOnce() throws Exception {
        CompletableFuture<DeliveryReport> first = new CompletableFuture<>();
        EmbeddedChannel ch = pipelinedSession(job("x\r\n", first, BOB));
        in(ch, "250 ok\r\n250 ok\r\n354 go\r\n");
        out(ch);
        in(ch, "250 queued\r\n");
        CompletableFuture<DeliveryReport> second = new CompletableFuture<>();
        assertThat(idles.get(0).start(job("y\r\n", second, CAROL))).isTrue();
        assertThat(out(ch)).startsWith("RSET\r\nMAIL FROM:");

        ch.close(); // the upstream had closed the idle connection

        assertThat(second).isNotDone();
        assertThat(retries).singleElement().satisfies(j -> {
            assertThat(j.result()).isSameAs(second);
            assertThat(j.retried()).isTrue();
        });
    }

    @Test
    void credentialsAreNeverSentWithoutTlsToAPeerThatIsNotLoopback() throws Exception {
        // an EmbeddedChannel's peer is no loopback address: like a tls: none upstream off loopback
        UpstreamTarget withUser = new UpstreamTarget("embedded", "127.0.0.1", 2525, TlsMode.NONE, "relay",
                "s3cret-Pa55", null, UpstreamTarget.Timeouts.rfc5321());
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        EmbeddedChannel ch = new EmbeddedChannel(new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE),
                new SmtpRequestEncoder(), new ChunkedWriteHandler(), new SmtpClientHandler(
                new ConnectionSettings(withUser, "relay.test", null, null), owner, job("x\r\n", result, BOB)));
        in(ch, "220 fake\r\n");
        out(ch);

        in(ch, "250-fake\r\n250 AUTH PLAIN LOGIN\r\n");

        assertThat(out(ch)).isEqualTo("QUIT\r\n");
        assertThat(result.getNow(null).byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
        assertThat(result.getNow(null).byRecipient().get(BOB).detail()).contains("without TLS");
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private DeliveryJob job(String content, CompletableFuture<DeliveryReport> result, MailAddress... rcpts)
            throws Exception {
        Path body = Files.write(Files.createTempFile(dir, "m", ".eml"), content.getBytes(StandardCharsets.UTF_8));
        Body whole = Body.wholeFile(body);
        return new DeliveryJob(ConnectionPoolTest.envelope(rcpts), whole, BodyScan.of(whole), result);
    }

    private EmbeddedChannel channel(DeliveryJob job) {
        ConnectionSettings settings = new ConnectionSettings(TARGET, "relay.test", null, null);
        return new EmbeddedChannel(new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE),
                new SmtpRequestEncoder(), new ChunkedWriteHandler(), new SmtpClientHandler(settings, owner, job));
    }

    /** Greeted, EHLO answered with PIPELINING, the flight sent. */
    private EmbeddedChannel pipelinedSession(DeliveryJob job) {
        EmbeddedChannel ch = channel(job);
        in(ch, "220 fake\r\n");
        out(ch);
        in(ch, "250-fake\r\n250 PIPELINING\r\n");
        assertThat(out(ch)).endsWith("DATA\r\n");
        return ch;
    }

    private static void in(EmbeddedChannel ch, String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
        ch.runPendingTasks();
    }

    private static String out(EmbeddedChannel ch) {
        ch.runPendingTasks();
        StringBuilder sb = new StringBuilder();
        for (Object o = ch.readOutbound(); o != null; o = ch.readOutbound()) {
            ByteBuf b = (ByteBuf) o;
            sb.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return sb.toString();
    }

}
