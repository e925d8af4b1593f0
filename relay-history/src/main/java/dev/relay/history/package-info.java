/**
 * The message history stage: every message's receipt, delivery attempts with the upstream's replies, outcome and
 * operator actions ({@code HistoryRecorder}, fed by the queue's events and the receive stage), written by one thread
 * in batches to SQLite ({@code HistoryStore}: {@code HistoryWrites}, {@code HistoryReads}, migrated by Flyway) and
 * read by searches and timelines. Guarantee: off the {@code 250} path; a full buffer drops history records
 * (counted), never slows or refuses mail.
 */
package dev.relay.history;
