package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsersFileTest {
    @TempDir
    Path dir;

    @Test
    void lineMadeByRelayPasswdAuthenticates() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, "# users\n\n" + UsersFile.line("alice", "s3cret".toCharArray()) + "\n");
        UsersFile users = UsersFile.load(f);
        assertThat(users.users()).containsExactly("alice");
        assertThat(users.authenticate("alice", "s3cret")).isTrue();
        assertThat(users.authenticate("alice", "wrong")).isFalse();
        assertThat(users.authenticate("bob", "s3cret")).isFalse();
        assertThat(users.authenticate(null, null)).isFalse();
    }

    @Test
    void htpasswdBcryptOutputIsAcceptedAsItIs() throws Exception {
        // the crypt_blowfish test vector for "U*U", as $2a$ and as Apache htpasswd's $2y$ prefix
        Path f = dir.resolve("users");
        Files.writeString(f, "a:$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
                + "y:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n");
        UsersFile users = UsersFile.load(f);
        assertThat(users.authenticate("a", "U*U")).isTrue();
        assertThat(users.authenticate("y", "U*U")).isTrue();
        assertThat(users.authenticate("y", "U*V")).isFalse();
    }

    @Test
    void plaintextPasswordsAreRefusedWithoutBeingEchoed() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, "alice:hunter2\nbob\n");
        assertThatThrownBy(() -> UsersFile.load(f))
                .isInstanceOf(UsersFileException.class)
                .hasMessageContaining("line 1: user 'alice' has no bcrypt hash")
                .hasMessageContaining("line 2: expected user:bcrypt-hash")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void sessionsPresentingTheSameCredentialAtOnceShareOneBcrypt() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, UsersFile.line("alice", "s3cret".toCharArray()) + "\n");
        UsersFile users = UsersFile.load(f);
        int sessions = 16;
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(sessions);
        java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(sessions)) {
            for (int i = 0; i < sessions; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return users.authenticate("alice", "s3cret");
                }));
            }
            for (var r : results) {
                assertThat(r.get()).isTrue();
            }
        }
        assertThat(users.bcryptChecks()).isEqualTo(1);
        // a wrong password is still never cached: each later attempt pays its own bcrypt
        assertThat(users.authenticate("alice", "wrong")).isFalse();
        assertThat(users.authenticate("alice", "wrong")).isFalse();
        assertThat(users.bcryptChecks()).isEqualTo(3);
    }

    @Test
    void aVerifiedCredentialSkipsBcryptButAWrongPasswordNeverDoes() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, UsersFile.line("alice", "s3cret".toCharArray()) + "\n");
        UsersFile users = UsersFile.load(f);
        assertThat(users.authenticate("alice", "s3cret")).isTrue();
        assertThat(users.authenticate("alice", "s3cret")).isTrue();
        assertThat(users.authenticate("alice", "s3cret")).isTrue();
        assertThat(users.bcryptChecks()).isEqualTo(1);
        assertThat(users.authenticate("alice", "s3cret ")).isFalse();
        assertThat(users.authenticate("alice", "wrong")).isFalse();
        assertThat(users.bcryptChecks()).isEqualTo(3);
        assertThat(users.authenticate("bob", "s3cret")).isFalse();
        // a new file (a changed password) starts without cache: the old password is checked against the new hash
        Files.writeString(f, UsersFile.line("alice", "n3w".toCharArray()) + "\n");
        UsersFile reloaded = UsersFile.load(f);
        assertThat(reloaded.authenticate("alice", "s3cret")).isFalse();
        assertThat(reloaded.authenticate("alice", "n3w")).isTrue();
    }

    @Test
    void duplicateUserIsAnError() throws Exception {
        Path f = dir.resolve("users");
        String line = UsersFile.line("alice", "x".toCharArray());
        Files.writeString(f, line + "\n" + line + "\n");
        assertThatThrownBy(() -> UsersFile.load(f)).hasMessageContaining("defined twice");
    }
}
