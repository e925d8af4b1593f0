package dev.relay.server.receive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SubmissionHeadersTest {
    private static List<String> fromOf(String content) throws Exception {
        List<String> from = new ArrayList<>();
        SubmissionHeaders.wrap(new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)),
                "Received: x\r\n", "relay.test", ZonedDateTime.now(), from::addAll).readAllBytes();
        return from;
    }

    @Test
    void theFromAndSenderFieldsAreCollectedUnfoldedForTheParser() throws Exception {
        assertThat(fromOf("Subject: s\r\nFROM: \"Doe, Jane\" <Jane@Example.com>,\r\n (the boss) ceo@x.example\r\n"
                + "\r\nFrom: body@not.header\r\n"))
                .as("folded, the name as written, nothing from the body")
                .containsExactly("FROM: \"Doe, Jane\" <Jane@Example.com>, (the boss) ceo@x.example");
        assertThat(fromOf("From: A <a@example.com>\r\nTo: t@example.com\r\nFrom: b@example.com\r\n"
                + "Sender: <s@example.com> (\\) x)\r\n\r\n"))
                .as("every From and Sender field, each on its own")
                .containsExactly("From: A <a@example.com>", "From: b@example.com", "Sender: <s@example.com> (\\) x)");
    }

    @Test
    void aMessageWithoutFromHasNoAddresses() throws Exception {
        assertThat(fromOf("Subject: none\r\n\r\nFrom: x@example.com\r\n")).isEmpty();
    }
}
