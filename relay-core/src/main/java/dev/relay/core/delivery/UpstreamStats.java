package dev.relay.core.delivery;

/**
 * A snapshot of one upstream's connection pool.
 *
 * @param connectionsOpened connections started since the engine was created
 * @param connectionsReused messages sent over an already open connection
 * @param rateLimited       times a message waited for the rate limit or a back-pressure pause
 * @param throttled         throttling replies seen
 * @param open              connections open now (busy or idle)
 * @param idle              open connections waiting for a message
 * @param waiting           messages waiting for a connection or for the rate limit
 * @param concurrency       connections allowed at once now (max-connections, lowered after throttling)
 */
public record UpstreamStats(long connectionsOpened, long connectionsReused, long rateLimited, long throttled,
                            int open, int idle, int waiting, int concurrency) {
}
