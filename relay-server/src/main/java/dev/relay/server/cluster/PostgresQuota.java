package dev.relay.server.cluster;

import dev.relay.core.delivery.SharedQuota;
import dev.relay.core.delivery.UpstreamTarget;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConfigurationBuilder;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.distributed.jdbc.PrimaryKeyMapper;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The upstreams' rate limits in PostgreSQL, one Bucket4j bucket per upstream and rate (key
 * {@code <upstream>|<per-second>/<per-day>}), shared by every replica on the database.
 *
 * <p>The per-second limit is refilled whole at the start of each second of the wall clock (Bucket4j's aligned
 * interval refill), not bit by bit: however the replicas take their tokens, at most {@code per-second} leave the
 * bucket within one second (a provider that counts per second sees no more), and a bucket left idle holds no
 * more than a second's worth. Tokens taken may be used until shortly before their second ends ({@link #MARGIN}),
 * so that a message started late in one second does not reach the provider in the next on top of that second's
 * own; in the last {@link #MARGIN} of a second nothing is taken, the replicas wait for the next. A fractional
 * rate below 1 (0.5: one message every two seconds) refills one token per period instead. The daily quota is a
 * second limit of the same bucket, refilled smoothly over the day.
 */
final class PostgresQuota implements SharedQuota {
    /** The end of each window in which no tokens are taken or used: deliveries started before it end in it. */
    static final long MARGIN = TimeUnit.MILLISECONDS.toNanos(250);
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final ClusterDatabase database;
    private final ProxyManager<String> buckets;
    private final int expectedReplicas;
    private final BiConsumer<String, Boolean> reached;
    private final BiConsumer<String, Boolean> fallbacks;
    private final Map<String, BucketProxy> proxies = new ConcurrentHashMap<>();

    /**
     * @param reached   told after each round trip of an upstream's whether the database answered
     * @param fallbacks told when an upstream's limiter goes to its fallback share or back
     */
    PostgresQuota(ClusterDatabase database, int expectedReplicas, BiConsumer<String, Boolean> reached,
                  BiConsumer<String, Boolean> fallbacks) {
        this.database = database;
        this.buckets = Bucket4jPostgreSQL.selectForUpdateBasedBuilder(database.dataSource())
                .primaryKeyMapper(PrimaryKeyMapper.STRING).table("relay_rate_bucket").build();
        this.expectedReplicas = expectedReplicas;
        this.reached = reached;
        this.fallbacks = fallbacks;
    }

    @Override
    public Grant take(String upstream, UpstreamTarget.Rate rate, long tokens) throws Exception {
        long nowNanos = wallNanos();
        long windowEnd = windowEnd(rate, nowNanos);
        long usable = windowEnd - nowNanos - margin(rate);
        if (usable <= 0) { // the end of the window: what is taken now could not be used in it
            return new Grant(0, windowEnd - nowNanos, 0);
        }
        Grant grant;
        try {
            grant = takeOnce(upstream, rate, tokens, usable);
        } catch (RuntimeException stale) { // a pooled connection the database closed (it restarted): once more
            try {
                grant = takeOnce(upstream, rate, tokens, usable);
            } catch (RuntimeException e) {
                reached.accept(upstream, false);
                throw new Exception("the cluster database cannot be reached: " + e.getMessage(), e);
            }
        }
        reached.accept(upstream, true);
        return grant;
    }

    private Grant takeOnce(String upstream, UpstreamTarget.Rate rate, long tokens, long usable) {
        database.migrate();
        BucketProxy bucket = proxies.computeIfAbsent(key(upstream, rate),
                k -> buckets.builder().build(k, () -> configuration(rate)));
        long got = bucket.tryConsumeAsMuchAsPossible(tokens);
        long wait = got > 0 ? 0 : Math.max(TimeUnit.MILLISECONDS.toNanos(1),
                bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill());
        return new Grant(got, wait, usable);
    }

    @Override
    public int expectedReplicas() {
        return expectedReplicas;
    }

    @Override
    public void fallback(String upstream, boolean on) {
        fallbacks.accept(upstream, on);
    }

    static String key(String upstream, UpstreamTarget.Rate rate) {
        return upstream + "|" + rate.perSecond() + "/" + rate.perDay();
    }

    /** The per-second window: one second, or for a rate below 1 per second the time of one token. */
    static long period(UpstreamTarget.Rate rate) {
        if (rate.perSecond() <= 0) {
            return SECOND;
        }
        return rate.perSecond() >= 1 ? SECOND : Math.round(SECOND / rate.perSecond());
    }

    /** The end of the window {@code nowNanos} (since the epoch) is in: windows are aligned to the epoch. */
    static long windowEnd(UpstreamTarget.Rate rate, long nowNanos) {
        long p = period(rate);
        return (nowNanos / p + 1) * p;
    }

    private static long margin(UpstreamTarget.Rate rate) {
        return rate.perSecond() > 0 ? Math.min(MARGIN, period(rate) / 4) : 0;
    }

    static BucketConfiguration configuration(UpstreamTarget.Rate rate) {
        ConfigurationBuilder b = BucketConfiguration.builder();
        if (rate.perSecond() > 0) {
            long tokens = rate.perSecond() >= 1 ? (long) Math.floor(rate.perSecond()) : 1;
            Duration period = Duration.ofNanos(period(rate));
            Instant first = Instant.EPOCH.plusNanos(windowEnd(rate, wallNanos()));
            b.addLimit(l -> l.capacity(tokens).refillIntervallyAligned(tokens, period, first).id("per-second"));
        }
        if (rate.perDay() > 0) {
            b.addLimit(l -> l.capacity(rate.perDay()).refillGreedy(rate.perDay(), Duration.ofDays(1)).id("per-day"));
        }
        return b.build();
    }

    /** The wall clock in nanoseconds since the epoch (what Bucket4j's client-side clock counts in). */
    private static long wallNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * SECOND + now.getNano();
    }
}
