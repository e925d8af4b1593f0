package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SmtpReplyTest {

    @Test
    void classifiesAndKeepsTheEnhancedCode() {
        SmtpReply r = new SmtpReply(550, List.of("5.1.1 user unknown"));
        assertThat(r.isPermanent()).isTrue();
        assertThat(r.isTransient() || r.isPositive() || r.isIntermediate()).isFalse();
        assertThat(r.enhancedCode()).isEqualTo("5.1.1");
        assertThat(r).hasToString("550 5.1.1 user unknown");
        assertThat(new SmtpReply(451, List.of("try later")).enhancedCode()).isEmpty();
        assertThat(new SmtpReply(354, List.of()).isIntermediate()).isTrue();
        assertThat(new SmtpReply(999, List.of()).isWellFormed()).isFalse();
        assertThat(new SmtpReply(-111, List.of("x")).isWellFormed()).isFalse();
        assertThat(new SmtpReply(250, List.of("a", "b"))).hasToString("250 a / b");
    }

    @Test
    void theTextForLogsAndBouncesHasNoC1ControlCharacterOfTheUpstream() {
        // found by UpstreamReplyFuzzTest: a byte 0x96 in a reply is decoded as U+0096, which \p{Cntrl} (ASCII
        // only) let through; 0x9B is the 8-bit CSI that starts a terminal escape sequence
        SmtpReply r = new SmtpReply(550, List.of("5.1.1 a\u009b[31mb\u0085c\u0096d\u007fe\u0000f\u00e9"));
        assertThat(r).hasToString("550 5.1.1 a?[31mb?c?d?e?f\u00e9");
    }

    @Test
    void parsesEhloExtensions() {
        EhloExtensions e = EhloExtensions.parse(new SmtpReply(250, List.of("smtp.example.com Hello",
                "SIZE 35882577", "8BITMIME", "AUTH LOGIN XOAUTH2", "AUTH=LOGIN", "STARTTLS", "PIPELINING",
                "SMTPUTF8", "ENHANCEDSTATUSCODES")));
        assertThat(e.startTls()).isTrue();
        assertThat(e.authMechanisms()).containsExactlyInAnyOrder("LOGIN", "XOAUTH2");
        assertThat(e.maxSize()).isEqualTo(35882577);
        assertThat(e.pipelining() && e.eightBitMime() && e.smtpUtf8()).isTrue();
        assertThat(EhloExtensions.parse(new SmtpReply(250, List.of("only greeting")))).isEqualTo(
                EhloExtensions.NONE);
        assertThat(EhloExtensions.parse(new SmtpReply(250, List.of("x", "SIZE"))).sizeExceeded(1L << 40))
                .isFalse();
    }
}
