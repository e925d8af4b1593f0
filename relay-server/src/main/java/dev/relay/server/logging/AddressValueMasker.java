package dev.relay.server.logging;

import com.fasterxml.jackson.core.JsonStreamContext;
import net.logstash.logback.mask.ValueMasker;

/** The JSON log format's counterpart of {@link MaskingMessageConverter}: masks addresses in string values. */
public final class AddressValueMasker implements ValueMasker {
    @Override
    public Object mask(JsonStreamContext context, Object value) {
        if (!AddressMask.enabled() || !(value instanceof CharSequence text)) {
            return null; // null: leave the value as it is
        }
        String s = text.toString();
        String masked = AddressMask.mask(s);
        return masked.equals(s) ? null : masked;
    }
}
