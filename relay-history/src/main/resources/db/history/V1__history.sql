-- The message history. Plain SQL that SQLite and PostgreSQL both take: times are epoch milliseconds (BIGINT),
-- texts are VARCHAR/TEXT, no engine-specific types or defaults.

-- One row per message: its receipt, and its state as the last event left it.
CREATE TABLE message (
    queue_id       VARCHAR(64)  NOT NULL PRIMARY KEY,
    received_at    BIGINT       NOT NULL,
    listener       VARCHAR(128),
    client_address VARCHAR(64),
    submitter      VARCHAR(255),            -- the authenticated user; NULL with trusted = 1
    trusted        INTEGER,                 -- 1: a client of auth.trusted-networks, no AUTH
    tls_protocol   VARCHAR(32),
    tls_cipher     VARCHAR(128),
    size           BIGINT,
    sender         VARCHAR(512) NOT NULL,   -- '' for the null sender <>
    message_id     VARCHAR(998),
    subject        VARCHAR(998),
    status         VARCHAR(16)  NOT NULL,   -- queued, deferred, delivered, failed, expired, bounced, deleted
    upstream       VARCHAR(255),            -- of the last attempt
    upstream_id    VARCHAR(255),            -- the upstream's own id, from its 250 reply
    dsn_id         VARCHAR(64),             -- the queue id of the bounce (DSN) sent for it
    updated_at     BIGINT       NOT NULL
);
CREATE INDEX message_received_at ON message (received_at);
CREATE INDEX message_sender ON message (sender);
CREATE INDEX message_message_id ON message (message_id);
CREATE INDEX message_upstream_id ON message (upstream_id);

-- One row per envelope recipient of a message.
CREATE TABLE recipient (
    queue_id   VARCHAR(64)  NOT NULL,
    address    VARCHAR(512) NOT NULL,
    status     VARCHAR(16)  NOT NULL,       -- queued, deferred, delivered, failed, expired
    updated_at BIGINT       NOT NULL,
    PRIMARY KEY (queue_id, address)
);
CREATE INDEX recipient_address ON recipient (address);

-- The timeline: one row per event of a message, in the order they happened (at, then seq).
CREATE TABLE event (
    queue_id    VARCHAR(64)  NOT NULL,
    at          BIGINT       NOT NULL,
    seq         BIGINT       NOT NULL,      -- the writer's order, for events of the same millisecond
    kind        VARCHAR(16)  NOT NULL,      -- received, attempt, delivered, deferred, failed, expired, bounced,
                                            -- hold, release, retry, delete, requeue
    recipient   VARCHAR(512),               -- attempt: the recipient the reply is for
    upstream    VARCHAR(255),
    host        VARCHAR(255),
    duration_ms BIGINT,
    code        INTEGER,                    -- the reply code, NULL when there was no reply
    enhanced    VARCHAR(16),                -- RFC 3463 enhanced status code, e.g. 2.0.0
    text        VARCHAR(1024),              -- the reply (or the failure when there was none)
    upstream_id VARCHAR(255),
    next_at     BIGINT,                     -- deferred: when the next attempt is due
    detail      VARCHAR(1024)               -- anything else: the DSN's queue id, who acted, the recipients
);
CREATE INDEX event_queue_id ON event (queue_id, at, seq);
CREATE INDEX event_at ON event (at);
CREATE INDEX event_upstream_id ON event (upstream_id);
