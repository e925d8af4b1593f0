-- The upstreams' shared rate limits: one Bucket4j token bucket per upstream and rate, its state serialized by
-- Bucket4j (PostgreSQL's SELECT ... FOR UPDATE backend). The id is "<upstream>|<per-second>/<per-day>", so that a
-- changed rate starts a bucket of its own.
CREATE TABLE relay_rate_bucket (
    id    VARCHAR(512) PRIMARY KEY,
    state BYTEA
);
