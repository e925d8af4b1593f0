package dev.relay.core.delivery;

import dev.relay.core.model.MailAddress;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The outcome of one delivery attempt for each recipient, in envelope order. */
public record DeliveryReport(String upstream, Map<MailAddress, Outcome> byRecipient) {
    public DeliveryReport {
        byRecipient = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byRecipient));
    }

    /** The same outcome for every recipient: a connection that failed before any RCPT, say. */
    public static DeliveryReport all(String upstream, Collection<MailAddress> recipients, Outcome outcome) {
        Map<MailAddress, Outcome> map = new LinkedHashMap<>();
        for (MailAddress r : recipients) {
            map.put(r, outcome);
        }
        return new DeliveryReport(upstream, map);
    }

    public List<MailAddress> recipientsWith(Class<? extends Outcome> kind) {
        return byRecipient.entrySet().stream().filter(e -> kind.isInstance(e.getValue())).map(Map.Entry::getKey)
                .toList();
    }
}
