package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.AuthConfig;
import dev.relay.config.Cidr;
import dev.relay.config.HistoryConfig;
import dev.relay.config.HostPort;
import dev.relay.config.ListenerConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.SpoolConfig;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.history.HistoryRecorder;
import dev.relay.history.HistoryStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The history opened on a thread of its own while the relay starts (docs/performance.md, "Start-up"). */
class HistoryWiringTest {
    @TempDir
    Path dir;

    /** A loopback relay (nothing started) with {@code history}; null: the default history. */
    private RelayConfig config(HistoryConfig history) {
        return new RelayConfig(null, List.of(new ListenerConfig("local", new HostPort("127.0.0.1", 2700),
                TlsMode.NONE)), null, new AuthConfig(null, List.of(Cidr.parse("127.0.0.1/32"))),
                new SpoolConfig(dir.resolve("spool")), null,
                List.of(new UpstreamConfig("primary", UpstreamUrl.parse("smtp://127.0.0.1:2600"), null, null,
                        TlsMode.NONE, null)),
                null, List.of(), null, null, null, history);
    }

    private static HistoryConfig history(boolean enabled, Path path) {
        return new HistoryConfig(enabled, path, HistoryConfig.DEFAULT_RETENTION, HistoryConfig.DEFAULT_MAX_SIZE,
                false, false, HistoryConfig.DEFAULT_BUFFER);
    }

    @Test
    void theFileOpensAsideAndTheRecorderStartsOnIt() throws Exception {
        RelayConfig config = config(null);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HistoryWiring.Opening opening = HistoryWiring.open(config, dir.resolve("spool"));
        HistoryRecorder recorder = HistoryWiring.start(config, opening, registry);
        assertThat(recorder).isNotNull();
        assertThat(recorder.store().file()).isEqualTo(dir.resolve("spool").resolve("history.db"));
        assertThat(recorder.store().schemaVersion()).isNotBlank();
        assertThat(registry.find("relay.history.records.written").functionCounter()).isNotNull();
        HistoryWiring.close(recorder, opening);
        assertThatThrownBy(recorder.store()::schemaVersion).isInstanceOf(SQLException.class);
    }

    @Test
    void aHistoryThatCannotBeOpenedIsLeftOffAndTheStartGoesOn() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("not-a-directory"), "x");
        RelayConfig config = config(history(true, notADirectory.resolve("history.db")));
        HistoryWiring.Opening opening = HistoryWiring.open(config, dir.resolve("spool"));
        assertThat(HistoryWiring.start(config, opening, new SimpleMeterRegistry())).isNull();
        HistoryWiring.close(null, opening); // what a stop does then: nothing to close, nothing thrown
    }

    @Test
    void offOpensNothing() throws Exception {
        RelayConfig config = config(history(false, null));
        HistoryWiring.Opening opening = HistoryWiring.open(config, dir.resolve("spool"));
        assertThat(opening).isNull();
        assertThat(HistoryWiring.start(config, opening, new SimpleMeterRegistry())).isNull();
        assertThat(dir.resolve("spool").resolve("history.db")).doesNotExist();
    }

    @Test
    void aStartThatFailsBeforeTheRecorderStartedClosesTheOpenedStore() throws Exception {
        RelayConfig config = config(null);
        HistoryWiring.Opening opening = HistoryWiring.open(config, dir.resolve("spool"));
        HistoryStore store = opening.await();
        HistoryWiring.close(null, opening);
        assertThatThrownBy(store::schemaVersion).isInstanceOf(SQLException.class);
    }
}
