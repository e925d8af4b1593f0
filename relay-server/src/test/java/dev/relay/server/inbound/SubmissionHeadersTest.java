package dev.relay.server.inbound;

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
    void theFromAddressesAreReadFromAFoldedFieldWithNamesAndComments() throws Exception {
        assertThat(fromOf("Subject: s\r\nFROM: \"Doe, Jane\" <Jane@Example.com>,\r\n (the boss) ceo@x.example\r\n"
                + "\r\nFrom: body@not.header\r\n"))
                .as("a bare address after a named one is not missed")
                .containsExactly("jane@example.com", "ceo@x.example");
        assertThat(fromOf("From: a@example.com, b@example.com (bee)\r\n\r\nbody\r\n"))
                .containsExactly("a@example.com", "b@example.com");
        assertThat(fromOf("From: A <a@example.com>\r\nFrom: b@example.com\r\n\r\n"))
                .as("every From field counts").containsExactly("a@example.com", "b@example.com");
    }

    @Test
    void groupsAndQuotedBracketsAreParsed() {
        assertThat(SubmissionHeaders.addresses(" team: a@example.com, \"x <y@z>\" <b@example.com>;"))
                .containsExactly("a@example.com", "b@example.com");
    }

    @Test
    void aMessageWithoutFromHasNoAddresses() throws Exception {
        assertThat(fromOf("Subject: none\r\n\r\nFrom: x@example.com\r\n")).isEmpty();
    }
}
