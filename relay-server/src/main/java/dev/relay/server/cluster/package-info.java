/**
 * State shared by the replicas of a cluster in one PostgreSQL database ({@code cluster.database}): the
 * upstreams' rate limits ({@code PostgresQuota}, Bucket4j's PostgreSQL backend), the connection pool and schema
 * ({@code ClusterDatabase}), and what the admin endpoint shows of them ({@code ClusterWiring}: metrics and the
 * {@code /readyz} detail). Off until {@code cluster.database} is set.
 */
package dev.relay.server.cluster;
