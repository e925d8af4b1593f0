package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadingUsersFileTest {
    @TempDir
    Path dir;

    @Test
    void aChangedFileIsLoadedAndABrokenOneKeepsTheOldUsers() throws Exception {
        Path file = Files.writeString(dir.resolve("users"), UsersFile.line("app", "pw1".toCharArray()) + "\n");
        ReloadingUsersFile users = new ReloadingUsersFile(file);
        assertThat(users.reloadIfChanged()).as("unchanged").isFalse();

        Files.writeString(file, UsersFile.line("app", "pw2".toCharArray()) + "\n");
        assertThat(users.reloadIfChanged()).isTrue();
        assertThat(users.current().authenticate("app", "pw2")).isTrue();

        Files.writeString(file, "app:plaintext\n");
        assertThat(users.reloadIfChanged()).isFalse();
        assertThat(users.current().authenticate("app", "pw2")).isTrue();
    }

    @Test
    void aSwappedSymlinkIsSeenLikeAKubernetesSecretUpdate() throws Exception {
        Path v1 = Files.writeString(dir.resolve("v1"), UsersFile.line("app", "pw1".toCharArray()) + "\n");
        Path v2 = Files.writeString(dir.resolve("v2"), UsersFile.line("app", "pw2".toCharArray()) + "\n");
        Path link = Files.createSymbolicLink(dir.resolve("users"), v1);
        ReloadingUsersFile users = new ReloadingUsersFile(link);
        Path tmp = Files.createSymbolicLink(dir.resolve("users.tmp"), v2);
        Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        assertThat(users.reloadIfChanged()).isTrue();
        assertThat(users.current().authenticate("app", "pw2")).isTrue();
    }

    @Test
    void reloadReadsTheFileEvenUnchangedAndNamesWhatChanged() throws Exception {
        Path file = Files.writeString(dir.resolve("users"), UsersFile.line("app", "pw1".toCharArray()) + "\n"
                + UsersFile.line("carol", "pw".toCharArray()) + "\n");
        ReloadingUsersFile users = new ReloadingUsersFile(file);
        UsersFile first = users.current();
        assertThat(users.reload()).as("an operator's reload reads the file even when unchanged").isTrue();
        assertThat(users.current().changesSince(first)).isEqualTo("no change");

        Files.writeString(file, UsersFile.line("app", "pw2".toCharArray()) + "\n"
                + UsersFile.line("bob", "pw".toCharArray()) + "\n");
        UsersFile before = users.current();
        assertThat(users.reload()).isTrue();
        assertThat(users.current().changesSince(before))
                .isEqualTo("added [bob], removed [carol], password changed [app]");
        assertThat(users.current().authenticate("bob", "pw")).isTrue();

        Files.writeString(file, "bob:plaintext\n");
        assertThat(users.reload()).as("a broken file keeps the users loaded before").isFalse();
        assertThat(users.current().authenticate("bob", "pw")).isTrue();
    }
}
