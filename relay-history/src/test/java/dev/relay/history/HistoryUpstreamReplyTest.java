package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HistoryUpstreamReplyTest {
    private static String id(String detail) {
        return UpstreamReply.parse(detail).upstreamId();
    }

    @Test
    void takesTheReplyApart() {
        UpstreamReply r = UpstreamReply.parse("550 5.1.1 <x@y>: Recipient address rejected");
        assertThat(r.code()).isEqualTo(550);
        assertThat(r.enhanced()).isEqualTo("5.1.1");
        assertThat(r.text()).isEqualTo("<x@y>: Recipient address rejected");
        assertThat(r.upstreamId()).isNull();
        UpstreamReply none = UpstreamReply.parse("connection refused");
        assertThat(none.code()).isEqualTo(-1);
        assertThat(none.text()).isEqualTo("connection refused");
        assertThat(UpstreamReply.parse("250 Great success").enhanced()).isEmpty();
    }

    @Test
    void findsTheUpstreamsIdInTheFormsProvidersUse() {
        assertThat(id("250 2.0.0 Ok: queued as 4F1B2C3D4E")).isEqualTo("4F1B2C3D4E"); // Postfix, this relay
        assertThat(id("250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A")).isEqualTo("nhIMmON9SFOPcT0ii4nt2A"); // SendGrid
        assertThat(id("250 Ok 0100018c7f3a2b1e-5e0c1b2a-1f2e-4d3c-9b8a-7f6e5d4c3b2a-000000")) // Amazon SES
                .isEqualTo("0100018c7f3a2b1e-5e0c1b2a-1f2e-4d3c-9b8a-7f6e5d4c3b2a-000000");
        assertThat(id("250 OK id=1pQ2rS-0003xY-7Z")).isEqualTo("1pQ2rS-0003xY-7Z"); // Exim
        assertThat(id("250 Message Queued (A1B2C3D4.1)")).isEqualTo("A1B2C3D4.1"); // Haraka
        assertThat(id("250 OK queued as a08b7f37-ed61-423a-ba75-38ed2fd4b54c")) // Mailjet
                .isEqualTo("a08b7f37-ed61-423a-ba75-38ed2fd4b54c");
        assertThat(id("250 OK <20111114174239.25659.5817@samples.mailgun.org>")) // Mailgun's id form
                .isEqualTo("20111114174239.25659.5817@samples.mailgun.org");
        assertThat(id("250 2.0.0 Ok: captured as 1764844920123-000001")).isEqualTo("1764844920123-000001"); // sink
        assertThat(id("250 Great success")).isNull(); // Mailgun's usual SMTP reply: no id in it
        assertThat(id("250 2.0.0 OK")).isNull();
        assertThat(id("550 5.7.1 Ok: queued as NOPE")).isNull(); // only a positive reply carries an id
    }
}
