package dev.relay.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HeaderAddressesTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            <ceo@victim.com> (\\) <alice@example.com>)  | ceo@victim.com
            "The CEO" <CEO@Other.example>               | ceo@other.example
            App (the app) <App@Example.com>             | app@example.com
            "Smith, <a@b.c>" <alice@example.com>        | alice@example.com
            alice@example.com (Alice \\( <x@y.z>)       | alice@example.com
            =?UTF-8?Q?J=C3=B6rg?= <jorg@example.com>    | jorg@example.com
            """)
    void aMailboxIsReadAsAnRfc5322ParserReadsIt(String value, String address) throws Exception {
        assertThat(HeaderAddresses.mailbox(" " + value)).isEqualTo(address);
        assertThat(HeaderAddresses.mailboxList(" " + value + "\r\n")).containsExactly(address);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"<alice@example.com", "team: alice@example.com;", "undisclosed-recipients:;", "",
        "alice", "<@route.example:alice@example.com>", "a@x.example b@y.example", "(only a comment)"})
    void aValueThatIsNotAMailboxListIsRefused(String value) {
        assertThatThrownBy(() -> HeaderAddresses.mailboxList(" " + value))
                .isInstanceOf(HeaderAddresses.MalformedException.class);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"a@example.com, b@example.com", "a@example.com,\r\n (folded) b@example.com"})
    void severalMailboxesAreAListButNotAMailbox(String value) throws Exception {
        assertThat(HeaderAddresses.mailboxList(value)).containsExactly("a@example.com", "b@example.com");
        assertThatThrownBy(() -> HeaderAddresses.mailbox(value)).isInstanceOf(HeaderAddresses.MalformedException.class)
                .hasMessageContaining("2 mailboxes where one is expected");
    }
}
