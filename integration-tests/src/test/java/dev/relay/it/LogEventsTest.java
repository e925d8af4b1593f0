package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message's life in the log, as an operator reads it: one key=value line per event (received, deferred,
 * delivered) with the queue id first, and with {@code logging.mask-addresses} no address in clear, in both log
 * formats. The relay runs as a process so the real logback configuration is what is tested.
 */
class LogEventsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"text", "json"})
    void eachEventIsOneKeyValueLineWithTheQueueIdFirstAndMaskedAddresses(String format) throws Exception {
        int port = Loopback.freePort();
        int upstreamPort = Loopback.freePort();
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { retry-delay: 200ms }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                logging: { mask-addresses: true }
                """.formatted(port, dir.resolve("spool"), upstreamPort, Loopback.freePort()));
        Path log = dir.resolve("relay.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process relay = new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), "dev.relay.server.Main", "serve", "--config",
                config.toString(), "--log-format", format)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(log).contains("relay ready"));
            String reply;
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                reply = smtp.send("jane.doe@example.com", "bob@example.org", "Subject: log\r\n\r\nhello");
            }
            assertThat(reply).startsWith("250");
            String id = reply.substring(reply.lastIndexOf(' ') + 1);
            // the upstream is down: the first attempt is deferred; then it comes up and the retry delivers
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(log).contains(id + ": deferred"));
            try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, upstreamPort), dir.resolve("out"),
                    null, null, null)) {
                sink.start();
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> Files.readString(log).contains(id + ": delivered"));
            }
            String text = Files.readString(log);
            assertThat(text).doesNotContain("jane.doe@example.com", "bob@example.org");
            List<String> events = messages(text, format).stream().filter(m -> m.startsWith(id + ": ")).toList();
            assertThat(events).hasSizeGreaterThanOrEqualTo(3);
            assertThat(events.get(0)).matches(Pattern.quote(id)
                    + ": received from=<j\\*\\*\\*@example\\.com> to=<b\\*\\*\\*@example\\.org> nrcpt=1 size=\\d+ "
                    + "user=-");
            assertThat(events).anySatisfy(e -> assertThat(e).matches(Pattern.quote(id)
                    + ": deferred from=<j\\*\\*\\*@example\\.com> to=<b\\*\\*\\*@example\\.org> upstream=sink "
                    + "reply=\".+\" delay=\\d+ms size=\\d+ attempt=1 next=\\S+"));
            assertThat(events).anySatisfy(e -> assertThat(e).matches(Pattern.quote(id)
                    + ": attempt to=<b\\*\\*\\*@example\\.org> upstream=sink host=\\S+ result=delivered "
                    + "reply=\"250[^\"]*\""));
            assertThat(events.get(events.size() - 1)).matches(Pattern.quote(id)
                    + ": delivered from=<j\\*\\*\\*@example\\.com> to=<b\\*\\*\\*@example\\.org> upstream=sink "
                    + "reply=\"250[^\"]*\" delay=\\d+ms size=\\d+ attempt=\\d+");
        } finally {
            relay.destroy();
            if (!relay.waitFor(20, TimeUnit.SECONDS)) {
                relay.destroyForcibly();
            }
        }
    }

    /** The log messages: the text after the logger name, or the JSON lines' "message" values. */
    private static List<String> messages(String log, String format) {
        Pattern p = format.equals("json") ? Pattern.compile("\"message\":\"((?:[^\"\\\\]|\\\\.)*)\"")
                : Pattern.compile("^\\S+ +\\S+ +\\S+: (.*)$", Pattern.MULTILINE);
        Matcher m = p.matcher(log);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(format.equals("json") ? m.group(1).replace("\\\"", "\"") : m.group(1));
        }
        return out;
    }
}
