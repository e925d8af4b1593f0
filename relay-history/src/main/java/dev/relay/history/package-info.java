/**
 * The message history stage: every message's receipt, delivery attempts with the upstream's replies, outcome and
 * operator actions ({@code HistoryRecorder}, fed by the queue's events and the receive stage), written by one thread
 * in batches to SQLite, or to PostgreSQL shared by the replicas ({@code HistoryStore}: {@code HistoryWrites},
 * {@code HistoryReads}, the connections {@code HistoryConnections}, what differs {@code HistoryDialect}, migrated by
 * Flyway; the writer's retries while the database cannot be reached {@code WriterOutage}) and read by searches and
 * timelines. Guarantee: off the {@code 250} path; a full buffer, or a database that cannot be reached, drops
 * history records (counted), never slows or refuses mail.
 */
package dev.relay.history;
