package dev.relay.server.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * {@code %maskedMsg} in the text log pattern: the message, with addresses masked when configured and every control
 * character escaped. Log lines carry values a client chose (an EHLO name, an address, a TLS server name inside the
 * JDK's handshake error): a CR or LF among them would start a forged line, an ESC would drive the operator's
 * terminal. The JSON format needs none of this: JSON strings escape them.
 */
public final class MaskingMessageConverter extends MessageConverter {
    @Override
    public String convert(ILoggingEvent event) {
        return escapeControls(AddressMask.apply(super.convert(event)));
    }

    /**
     * {@code text} with each C0 control (tab, CR and LF included), DEL, C1 control and Unicode line or paragraph
     * separator written as a backslash escape (x and two hex digits, or u and four); the same string when it has none.
     */
    static String escapeControls(String text) {
        int i = 0;
        int n = text.length();
        while (i < n && !isControl(text.charAt(i))) {
            i++;
        }
        if (i == n) {
            return text;
        }
        StringBuilder b = new StringBuilder(n + 16).append(text, 0, i);
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (!isControl(c)) {
                b.append(c);
            } else if (c <= 0xff) {
                b.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.toString();
    }

    private static boolean isControl(char c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029;
    }
}
