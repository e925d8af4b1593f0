package dev.relay.server.setup;

import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.AccountReplies;
import dev.relay.core.delivery.UpstreamTarget;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** An upstream of the configuration as the delivery engine takes it. */
public final class UpstreamTargets {
    private UpstreamTargets() {
    }

    public static UpstreamTarget of(UpstreamConfig u) {
        UpstreamConfig.Timeouts t = u.timeouts();
        UpstreamConfig.OAuth2 o = u.oauth2();
        return new UpstreamTarget(u.name(), u.host(), u.port(), u.tls(), u.username(), u.password(), u.trust(),
                new UpstreamTarget.Timeouts(t.connect(), t.greeting(), t.command(), t.dataBlock(), t.dataEnd()),
                new UpstreamTarget.Pool(u.maxConnections(), u.maxMessagesPerConnection(), u.idleTimeout()),
                new UpstreamTarget.Rate(u.rate().perSecond(), u.rate().perDay()), u.auth(),
                o == null ? null : new UpstreamTarget.OAuth2(o.tokenUrl(), o.clientId(), o.clientSecret(), o.scope(),
                        o.refreshToken()),
                accountReplies(u));
    }

    /** The account reply table of {@code u}: its own rows (validated by the configuration), then its preset's. */
    public static AccountReplies accountReplies(UpstreamConfig u) {
        List<AccountReplies.Rule> rows = new ArrayList<>();
        for (UpstreamConfig.AccountReply a : u.accountReplies()) {
            rows.add(new AccountReplies.Rule(null, null, Pattern.compile(a.pattern()),
                    new AccountReplies.Verdict(AccountReplies.Action.parse(a.action()), a.reason(),
                            a.fix() == null ? "" : a.fix(), a.deferFor()),
                    "upstreams[].account-replies of " + u.name()));
        }
        return new AccountReplies(u.provider() == null ? null : u.provider().key(), rows);
    }
}
