-- Each message and event names the replica that wrote it (cluster.replica-name; NULL for a relay on its own), and
-- each recipient its place in the envelope. SQLite: the existing recipients keep their order through their rowid.
ALTER TABLE message ADD COLUMN replica VARCHAR(63);
ALTER TABLE event ADD COLUMN replica VARCHAR(63);
ALTER TABLE recipient ADD COLUMN position INTEGER;
UPDATE recipient SET position = rowid;
