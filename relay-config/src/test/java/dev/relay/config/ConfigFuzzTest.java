package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the configuration loader (YAML reader, tree checker, binder, validator). A YAML file
 * either loads or is refused with a {@link ConfigException} whose every problem names where it is (a key path or the
 * file); nothing else may escape. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/config/ConfigFuzzTestInputs/}; docs/testing.md says how to fuzz for hours.
 */
class ConfigFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("relay-config-fuzz", ".yaml");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "5s")
    void yamlFileLoadsOrNamesWhatIsWrong(byte[] yaml) throws IOException {
        Files.write(FILE, yaml);
        try {
            LoadedConfig loaded = ConfigLoader.load(FILE, Map.of());
            assertThat(loaded.config()).isNotNull();
        } catch (ConfigException e) {
            assertThat(e.problems()).isNotEmpty();
            for (ConfigProblem problem : e.problems()) {
                assertThat(problem.key()).isNotBlank();
                assertThat(problem.message()).isNotBlank();
            }
        }
    }
}
