-- Each message and event names the replica that wrote it (cluster.replica-name), and each recipient its place in
-- the envelope. PostgreSQL: the tables are new here (V1 is the same as SQLite's), and it has no rowid to keep an
-- order by.
ALTER TABLE message ADD COLUMN replica VARCHAR(63);
ALTER TABLE event ADD COLUMN replica VARCHAR(63);
ALTER TABLE recipient ADD COLUMN position INTEGER;
