package dev.relay.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

class MaskingMessageConverterTest {
    private static String render(String pattern, Object... args) {
        LoggerContext context = new LoggerContext();
        Logger logger = context.getLogger("dev.relay.server.receive.SessionLimits");
        LoggingEvent event = new LoggingEvent(Logger.class.getName(), logger, Level.INFO, pattern, null, args);
        MaskingMessageConverter converter = new MaskingMessageConverter();
        converter.start();
        return converter.convert(event);
    }

    @Test
    void aClientChosenValueCannotStartAForgedLineOrDriveTheTerminal() {
        // e.g. the JDK's handshake error quoting the client's SNI name, or an EHLO name
        String sni = "evil.test\r\n2026-12-04T00:00:00.000Z INFO  RelayServer: admin token is x\u001b[2J";
        String line = render("TLS handshake from {} failed: {}", "127.0.0.1", "Illegal server name " + sni);
        assertThat(line).doesNotContain("\r", "\n", "\u001b")
                .isEqualTo("TLS handshake from 127.0.0.1 failed: Illegal server name evil.test\\x0d\\x0a"
                        + "2026-12-04T00:00:00.000Z INFO  RelayServer: admin token is x\\x1b[2J");
        assertThat(render("{}", "a\tb\u0085c\u2028d\u007f")).isEqualTo("a\\x09b\\x85c\\u2028d\\x7f");
    }

    @Test
    void aLineWithoutControlsIsTheSameString() {
        String plain = "Q1: delivered to=<b@example.com> reply=\"250 2.0.0 Ok: queued as 4ZQ\" ü";
        assertThat(MaskingMessageConverter.escapeControls(plain)).isSameAs(plain);
    }
}
