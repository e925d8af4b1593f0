package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the users file reader: any file either loads (users whose names hold no space or
 * colon, each with a credential) or is refused with a {@link UsersFileException} that names a line; nothing else
 * escapes. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/core/auth/UsersFileFuzzTestInputs/}.
 */
class UsersFileFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("relay-users-fuzz", "");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "5s")
    void usersFileLoadsOrNamesTheBadLine(byte[] content) throws IOException {
        Files.write(FILE, content);
        UsersFile users;
        try {
            users = UsersFile.load(FILE);
        } catch (UsersFileException e) {
            assertThat(e.getMessage()).satisfiesAnyOf(
                    m -> assertThat(m).contains(FILE + " line "),
                    m -> assertThat(m).startsWith("cannot read users file")); // not UTF-8
            return;
        }
        String text = new String(content, StandardCharsets.UTF_8);
        for (String user : users.users()) {
            assertThat(user).isNotEmpty().doesNotContain(":").matches("\\S+");
            assertThat(text).contains(user + ":$2");
            assertThat(users.credential(user)).isNotBlank();
        }
        assertThat(users.authenticate(null, "x")).isFalse();
    }
}
