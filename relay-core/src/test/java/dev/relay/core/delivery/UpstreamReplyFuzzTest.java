package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;

/**
 * Coverage-guided fuzzing of what the relay reads from an upstream: the reply decoder the delivery pipeline
 * installs (Netty's, with the relay's line limit), then {@link SmtpReply} and {@link EhloExtensions} on each reply.
 * A malformed stream is a {@link DecoderException} (the handler turns it into a failed attempt); every decoded
 * reply is classified once, and its text for logs and DSNs is bounded and free of control characters.
 * {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/core/delivery/UpstreamReplyFuzzTestInputs/}.
 */
class UpstreamReplyFuzzTest {

    @FuzzTest(maxDuration = "5s")
    void upstreamRepliesDecodeToBoundedCleanReplies(byte[] stream) {
        EmbeddedChannel channel = new EmbeddedChannel(new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE));
        try {
            channel.writeInbound(Unpooled.wrappedBuffer(stream));
        } catch (DecoderException e) {
            // refused: the delivery handler fails the attempt
        }
        Object msg;
        while ((msg = channel.readInbound()) != null) {
            check(SmtpReply.of((SmtpResponse) msg));
        }
        try {
            channel.finishAndReleaseAll();
        } catch (DecoderException e) {
            // the same, found when the connection closes
        }
    }

    private static void check(SmtpReply reply) {
        int classes = (reply.isPositive() ? 1 : 0) + (reply.isIntermediate() ? 1 : 0)
                + (reply.isTransient() ? 1 : 0) + (reply.isPermanent() ? 1 : 0);
        assertThat(classes).isEqualTo(reply.isWellFormed() ? 1 : 0);
        if (reply.isThrottling()) {
            assertThat(reply.isTransient()).isTrue();
        }
        String enhanced = reply.enhancedCode();
        assertThat(enhanced).matches("|[245]\\.\\d{1,3}\\.\\d{1,3}");
        String text = reply.toString();
        assertThat(text.length()).isLessThanOrEqualTo(515);
        assertThat(text.chars()).noneMatch(Character::isISOControl);
        EhloExtensions ehlo = EhloExtensions.parse(reply);
        assertThat(ehlo.maxSize()).isGreaterThanOrEqualTo(-1);
        assertThat(ehlo.sizeExceeded(0)).isFalse();
        assertThat(ehlo.authMechanisms()).allSatisfy(m -> assertThat(m).isNotEmpty().isEqualTo(m.toUpperCase(java.util.Locale.ROOT)));
    }
}
