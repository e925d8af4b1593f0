package dev.relay.server.receive;

import dev.relay.config.AuthConfig;
import dev.relay.config.UserPolicy;
import dev.relay.core.auth.ReloadingUsersFile;
import dev.relay.core.auth.SenderPolicy;
import java.net.InetAddress;

/**
 * Who may submit, and what: authenticated users from the users file (reloaded when it changes), clients in the
 * trusted networks, and the senders and recipient domains each may use.
 */
public final class SubmissionPolicy {
    private final AuthConfig auth;
    private final ReloadingUsersFile users;
    private final SenderPolicy senders;

    /** @param users the users file, or null when only trusted networks may submit */
    public SubmissionPolicy(AuthConfig auth, ReloadingUsersFile users) {
        this.auth = auth;
        this.users = users;
        this.senders = new SenderPolicy(auth.trustedSenders());
        for (UserPolicy p : auth.policies()) {
            senders.user(p.user(), p.senders(), p.recipientDomains(), p.checkHeaderFrom());
        }
    }

    public boolean hasUsers() {
        return users != null;
    }

    public ReloadingUsersFile users() {
        return users;
    }

    public boolean authenticate(String user, String password) {
        return users != null && users.current().authenticate(user, password);
    }

    /** True if {@code user} is in the users file: only known user names are logged (a mistyped password may be). */
    public boolean isKnownUser(String user) {
        return users != null && users.current().users().contains(user);
    }

    /** {@code user}'s credential in the users file now ({@link dev.relay.core.auth.UsersFile#credential}). */
    public String credential(String user) {
        return users == null ? null : users.current().credential(user);
    }

    public boolean isTrusted(InetAddress client) {
        return auth.isTrusted(client);
    }

    /** @param user the authenticated user, or null for a client of a trusted network */
    public boolean senderAllowed(String user, String sender) {
        return senders.senderAllowed(user, sender);
    }

    /** True if {@code user}'s policy has {@code check-header-from} (never for a trusted client: null). */
    public boolean checksHeaderFrom(String user) {
        return senders.checksHeaderFrom(user);
    }

    /** @param user the authenticated user, or null for a client of a trusted network */
    public boolean recipientAllowed(String user, String recipient) {
        return senders.recipientAllowed(user, recipient);
    }
}
