package dev.relay.testkit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One transaction of a served session: the sender, the recipients accepted so far, and (when the session insists on
 * PIPELINING) the replies held back until DATA ends the group.
 */
final class Envelope {
    String from;
    String mailLine;
    /** The upstream's number of this transaction (from 0, across connections), given at MAIL. */
    int number;
    final List<String> to = new ArrayList<>();
    private boolean mailAccepted;
    private final List<String> held = new ArrayList<>();

    void mail(UpstreamSession s, String line, int transaction, String reply) throws IOException {
        number = transaction;
        String r = reply == null ? "250 2.1.0 Ok" : reply;
        mailAccepted = r.startsWith("2");
        from = mailAccepted ? UpstreamSession.address(line) : null;
        mailLine = line;
        to.clear();
        answer(s, r);
    }

    void rcpt(UpstreamSession s, String line, Function<String, String> rcpt) throws IOException {
        if (!mailAccepted) {
            answer(s, "503 5.5.1 Sender first");
            return;
        }
        String address = UpstreamSession.address(line);
        String refusal = rcpt == null ? null : rcpt.apply(address);
        if (refusal == null) {
            to.add(address);
            answer(s, "250 2.1.5 Ok");
        } else {
            answer(s, refusal);
        }
    }

    /** DATA: answers the whole group, then reads the content; false when the session ends meanwhile. */
    boolean data(UpstreamSession s) throws IOException {
        if (to.isEmpty()) {
            held.add("554 5.5.1 No valid recipients");
            flush(s);
            reset();
            return true;
        }
        held.add("354 End data with <CR><LF>.<CR><LF>");
        flush(s);
        boolean goOn = s.content(this);
        reset();
        return goOn;
    }

    /** Sends what is held back, in one write. */
    void flush(UpstreamSession s) throws IOException {
        if (!held.isEmpty()) {
            s.reply(held.toArray(String[]::new));
            held.clear();
        }
    }

    private void answer(UpstreamSession s, String reply) throws IOException {
        held.add(reply);
        if (!s.pipelining) {
            flush(s);
        }
    }

    private void reset() {
        from = null;
        mailLine = null;
        mailAccepted = false;
        to.clear();
    }
}
