package dev.relay.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AddressMaskTest {
    @AfterEach
    void off() {
        AddressMask.enable(false);
    }

    @Test
    void masksTheLocalPartAndKeepsItsFirstCharacterAndTheDomain() {
        assertThat(AddressMask.mask("q1: received from=<jane.doe@example.com> to=<b+tag@mail.example.org>,<c@x.io>"))
                .isEqualTo("q1: received from=<j***@example.com> to=<b***@mail.example.org>,<c***@x.io>");
    }

    @Test
    void leavesLinesWithoutAddressesAndTheNullSenderAlone() {
        assertThat(AddressMask.mask("q1: delivered from=<> upstream=sink reply=\"250 Ok\""))
                .isEqualTo("q1: delivered from=<> upstream=sink reply=\"250 Ok\"");
    }

    @Test
    void appliesOnlyWhenEnabled() {
        assertThat(AddressMask.apply("to=<jane@example.com>")).isEqualTo("to=<jane@example.com>");
        AddressMask.enable(true);
        assertThat(AddressMask.apply("to=<jane@example.com>")).isEqualTo("to=<j***@example.com>");
        assertThat(new AddressValueMasker().mask(null, "jane@example.com")).isEqualTo("j***@example.com");
        assertThat(new AddressValueMasker().mask(null, 42)).isNull();
    }
}
