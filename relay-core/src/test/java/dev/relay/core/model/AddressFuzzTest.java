package dev.relay.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Coverage-guided fuzzing of the address parsers: the envelope address (what MAIL FROM and RCPT TO carry), the
 * queue id (a file name read back from the spool and from admin requests), and the address header fields
 * ({@code From:}, {@code Sender:}) read by {@link HeaderAddresses}. Each either gives a value that keeps its
 * promises or refuses with its own exception (inputs are UTF-8 text files); {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/core/model/AddressFuzzTestInputs/}.
 */
class AddressFuzzTest {

    @FuzzTest(maxDuration = "5s")
    void envelopeAddressAndQueueIdAreValidOrRefused(byte[] input) {
        String value = new String(input, StandardCharsets.UTF_8);
        checkQueueId(value);
        MailAddress address;
        try {
            address = new MailAddress(value);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(value.length()).isLessThanOrEqualTo(512);
        assertThat(value.chars()).noneMatch(c -> c <= ' ' || c == '<' || c == '>' || c == 0x7f);
        assertThat(address.isNullSender()).isEqualTo(value.isEmpty());
        if (!value.isEmpty()) {
            assertThat(value.indexOf('@')).isPositive();
            assertThat(value).doesNotEndWith("@");
        }
        assertThat(address.bracketed()).isEqualTo("<" + value + ">");
        address.hasSingleDomain(); // answers for any accepted address
    }

    /** The same input as a queue id (a file name read back from the spool, a path of the admin API). */
    private static void checkQueueId(String value) {
        if (QueueId.isValid(value)) {
            QueueId id = new QueueId(value);
            assertThat(id.value()).hasSize(19).matches("[0-9A-Z]{10}-[0-9A-Z]{8}");
            id.time();
        } else {
            assertThatThrownBy(() -> new QueueId(value)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** A From: or Sender: value: mailboxes with an address each, or MalformedException; never anything else. */
    @FuzzTest(maxDuration = "5s")
    void addressHeaderParsesToMailboxesOrIsRefused(byte[] input) {
        String value = new String(input, StandardCharsets.UTF_8);
        List<String> list;
        try {
            list = HeaderAddresses.parse(value);
        } catch (HeaderAddresses.MalformedException e) {
            assertThatThrownBy(() -> HeaderAddresses.mailbox(value))
                    .isInstanceOf(HeaderAddresses.MalformedException.class);
            return;
        }
        assertThat(list).isNotEmpty().allSatisfy(a -> {
            assertThat(a).contains("@").doesNotStartWith("@");
            assertThat(a).doesNotContain("\r", "\n");
        });
        try {
            assertThat(HeaderAddresses.mailboxList(value)).hasSameSizeAs(list);
            String one = HeaderAddresses.mailbox(value);
            assertThat(list).hasSize(1);
            assertThat(one).isEqualToIgnoringCase(list.get(0));
        } catch (HeaderAddresses.MalformedException e) {
            assertThat(list).as("only a list of more than one mailbox is refused as a single mailbox")
                    .hasSizeGreaterThan(1);
        }
    }
}
