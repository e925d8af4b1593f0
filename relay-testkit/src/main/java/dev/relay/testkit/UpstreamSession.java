package dev.relay.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * One connection to the {@link TestUpstream}: the protocol line by line ({@link #reply}, {@link #read},
 * {@link #expect}, {@link #readData}, {@link #hello}, {@link #startTls}) for scripts that make faults, or
 * {@link #serve()}, a well-behaved server whose public fields a script may change first.
 */
public final class UpstreamSession {
    private final TestUpstream upstream;
    public final int number;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private boolean underTls;
    boolean quit;

    /** Reply to each RCPT address: null accepts it with 250. */
    public Function<String, String> rcpt;
    /** Reply to AUTH PLAIN/LOGIN once the credentials are in, unless the upstream checks credentials. */
    public String auth;
    /** The greeting's text after "220 ". */
    public String greeting;
    /** The reply to the final dot of a message, unless the upstream's dataReply script says otherwise. */
    public String dataReply = "250 2.0.0 Ok: queued";
    /** Offer STARTTLS (when the upstream has a certificate). */
    public boolean offerStartTls = true;
    /** The AUTH mechanisms offered (also before TLS, to see whether the client uses them there); null: none. */
    public String authMechanisms;
    public boolean offerSmtpUtf8;
    public boolean offer8BitMime;
    /** Offer PIPELINING and read the whole MAIL/RCPT/DATA group before answering any of it. */
    public boolean pipelining;
    /** The EHLO keyword lines exactly as a provider sends them (null: built from the flags above). */
    public List<String> extensionLines;
    /** The command ("GREETING", "EHLO", "STARTTLS", "MAIL", "DATA", "DATA-END"...) at which the server goes silent. */
    public String stallAt;
    /** Close the connection after this many lines of message data. */
    public int dropAfterDataLines = -1;
    /** After STARTTLS's 220, send bytes that are no TLS handshake and close. */
    public boolean breakHandshake;
    /** After STARTTLS's 220, answer with a TLS 1.1 ServerHello and record the client's answer as a line "TLS-REPLY: ...". */
    public boolean offerOnlyTls11;
    /** The context STARTTLS uses; the upstream's own by default (another one serves another certificate). */
    public SSLContext startTlsContext;

    UpstreamSession(TestUpstream upstream, int number, Socket socket) throws IOException {
        this.upstream = upstream;
        this.number = number;
        this.rcpt = upstream.rcptReply;
        this.auth = upstream.authReply;
        this.greeting = upstream.greeting;
        this.authMechanisms = upstream.authMechanisms;
        this.offerSmtpUtf8 = upstream.smtpUtf8;
        this.offer8BitMime = upstream.eightBitMime;
        this.pipelining = upstream.pipelining;
        this.startTlsContext = upstream.startTlsContext();
        List<String> lines = upstream.extensions;
        if (lines != null) { // a provider's own list: the flags follow from it, so the session behaves as it says
            extensionLines = lines;
            pipelining = has(lines, "PIPELINING");
            offer8BitMime = has(lines, "8BITMIME");
            offerSmtpUtf8 = has(lines, "SMTPUTF8");
            authMechanisms = lines.stream().filter(l -> l.toUpperCase(Locale.ROOT).startsWith("AUTH "))
                    .map(l -> l.substring(5).strip()).findFirst().orElse(null);
        }
        use(socket);
    }

    private void use(Socket s) throws IOException {
        socket = s;
        in = new BufferedInputStream(s.getInputStream());
        out = s.getOutputStream();
    }

    /** Sends these reply lines at once, each ended by CRLF. */
    public void reply(String... replyLines) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line : replyLines) {
            sb.append(line).append("\r\n");
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Sends raw bytes (e.g. a reply without its CRLF, or a broken one). */
    public void raw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** The next line, CRLF removed, recorded; null at end of stream. */
    public String read() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        if (b < 0 && line.size() == 0) {
            return null;
        }
        String s = line.toString(StandardCharsets.UTF_8);
        s = s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        upstream.lines.add(new TestUpstream.Line(number, underTls, s));
        return s;
    }

    /** The next line, which must start with {@code prefix} (ignoring case). */
    public String expect(String prefix) throws IOException {
        String line = read();
        if (line == null || !line.regionMatches(true, 0, prefix, 0, prefix.length())) {
            throw new AssertionError("expected " + prefix + " but the client sent " + line);
        }
        return line;
    }

    /** The content after 354, up to the terminating dot, un-dot-stuffed, lines joined with CRLF. */
    public String readData() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line = read(); ; line = read()) {
            if (line == null) {
                throw new AssertionError("connection closed during DATA");
            }
            if (line.equals(".")) {
                return sb.toString();
            }
            sb.append(line.startsWith(".") ? line.substring(1) : line).append("\r\n");
        }
    }

    /** The usual opening: greeting, EHLO answered with these extensions. */
    public void hello(String... extensions) throws IOException {
        reply("220 upstream.test ESMTP");
        expect("EHLO ");
        String[] r = new String[extensions.length + 1];
        r[0] = (extensions.length == 0 ? "250 " : "250-") + "upstream.test hello";
        for (int i = 0; i < extensions.length; i++) {
            r[i + 1] = (i == extensions.length - 1 ? "250 " : "250-") + extensions[i];
        }
        reply(r);
    }

    /** Turns the connection into TLS, server side. */
    public void startTls(SSLContext context) throws IOException {
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(socket,
                socket.getInetAddress().getHostAddress(), socket.getPort(), true);
        tls.setUseClientMode(false);
        tls.startHandshake();
        use(tls);
        underTls = true;
    }

    /** Goes silent: reads (and records) until the client gives up and closes. */
    public void stall() throws IOException {
        while (read() != null) {
            // the client's lines, if any, stay unanswered
        }
    }

    /** Reads until the client closes (same as {@link #stall()}, for scripts that have said their last word). */
    public void drain() throws IOException {
        stall();
    }

    /** Greeting, then the command loop until QUIT or end of stream. */
    public void serve() throws IOException {
        if ("GREETING".equals(stallAt)) {
            stall();
            return;
        }
        reply("220 " + greeting);
        Envelope tx = new Envelope();
        for (String line = read(); line != null; line = read()) {
            upstream.commands.add(line);
            String upper = line.toUpperCase(Locale.ROOT);
            String verb = upper.length() >= 4 ? upper.substring(0, 4) : upper;
            if (verb.equals(stallAt) || upper.startsWith("STARTTLS") && "STARTTLS".equals(stallAt)) {
                stall();
                return;
            }
            if (!verb.equals("RCPT") && !verb.equals("DATA")) {
                tx.flush(this); // a pipelined group ends at DATA; anything else answers what waits first
            }
            switch (verb) {
                case "EHLO", "HELO" -> reply(extensions());
                case "STAR" -> {
                    if (!startTlsCommand()) {
                        return;
                    }
                }
                case "AUTH" -> UpstreamAuthExchange.run(this, upstream, line);
                case "MAIL" -> {
                    int n = upstream.transactions.getAndIncrement();
                    tx.mail(this, line, n, upstream.mailReply.apply(n));
                }
                case "RCPT" -> tx.rcpt(this, line, rcpt);
                case "DATA" -> {
                    if (!tx.data(this)) {
                        return;
                    }
                }
                case "RSET" -> {
                    upstream.rsets.incrementAndGet();
                    tx = new Envelope();
                    reply("250 2.0.0 Ok");
                }
                case "NOOP" -> reply("250 2.0.0 Ok");
                case "QUIT" -> {
                    upstream.quits.incrementAndGet();
                    quit = true; // no longer counted as open before the 221: the client may open the next one
                    upstream.current.decrementAndGet();
                    reply("221 2.0.0 Bye");
                    return;
                }
                default -> reply("502 5.5.2 Command not recognized");
            }
        }
    }

    private static boolean has(List<String> lines, String keyword) {
        return lines.stream().anyMatch(l -> l.equalsIgnoreCase(keyword)
                || l.toUpperCase(Locale.ROOT).startsWith(keyword + " "));
    }

    private String[] extensions() {
        if (extensionLines != null) {
            return ehloReply(extensionLines.stream()
                    .filter(l -> !l.equalsIgnoreCase("STARTTLS") || startTlsNow())
                    .toList());
        }
        List<String> ext = new ArrayList<>();
        if (offer8BitMime) {
            ext.add("8BITMIME");
        }
        if (pipelining) {
            ext.add("PIPELINING");
        }
        if (startTlsNow()) {
            ext.add("STARTTLS");
        }
        String mechanisms = authMechanisms == null ? "" : authMechanisms;
        if (upstream.xoauth2 != null) {
            mechanisms = (mechanisms + " XOAUTH2").strip();
        }
        if (!mechanisms.isEmpty()) {
            ext.add("AUTH " + mechanisms);
        }
        if (offerSmtpUtf8) {
            ext.add("SMTPUTF8");
        }
        ext.add("SIZE 100000000");
        return ehloReply(ext);
    }

    /** Whether EHLO says STARTTLS now: the upstream has a certificate, offers it, and TLS is not on yet. */
    private boolean startTlsNow() {
        return startTlsContext != null && offerStartTls && !underTls;
    }

    /** The EHLO reply: the hello line, then these keyword lines. */
    private static String[] ehloReply(List<String> keywords) {
        List<String> ext = new ArrayList<>(List.of("upstream.test hello"));
        ext.addAll(keywords);
        String[] r = new String[ext.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = "250" + (i == r.length - 1 ? " " : "-") + ext.get(i);
        }
        return r;
    }

    /** Answers STARTTLS and shakes hands (or breaks the handshake as told); false when the session ends. */
    private boolean startTlsCommand() throws IOException {
        reply("220 2.0.0 go ahead");
        if (breakHandshake) {
            raw("this is no TLS server hello\r\n".getBytes(StandardCharsets.US_ASCII));
            return false;
        }
        if (offerOnlyTls11) {
            String what = Tls11Hello.answer(in, out);
            upstream.lines.add(new TestUpstream.Line(number, false, "TLS-REPLY: " + what));
            return false;
        }
        startTls(startTlsContext);
        return true;
    }

    /** Reads the message content; false when the session ends (dropped, stalled or closed). */
    boolean content(Envelope tx) throws IOException {
        StringBuilder data = new StringBuilder();
        int n = 0;
        for (String d = read(); ; d = read()) {
            if (d == null) {
                return false;
            }
            if (d.equals(".")) {
                break;
            }
            if (++n == dropAfterDataLines) {
                return false;
            }
            data.append(d.startsWith(".") ? d.substring(1) : d).append("\r\n");
        }
        if ("DATA-END".equals(stallAt)) {
            stall();
            return false;
        }
        String scripted = upstream.dataReply.apply(tx.number);
        String r = scripted == null ? dataReply : scripted;
        if (r.startsWith("2")) { // refused after the dot: not accepted, so not recorded
            upstream.mails.add(new TestUpstream.Mail(number, tx.from, List.copyOf(tx.to), tx.mailLine,
                    data.toString()));
        }
        reply(r);
        return true;
    }

    /** The address between angle brackets in a MAIL or RCPT line ("" if none). */
    static String address(String line) {
        int lt = line.indexOf('<');
        int gt = line.indexOf('>', lt + 1);
        return lt < 0 || gt < 0 ? "" : line.substring(lt + 1, gt);
    }

    /** Decodes base64 as UTF-8 ("" when it is not base64). */
    static String decode(String b64) {
        try {
            return new String(Base64.getDecoder().decode(b64.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }
}
