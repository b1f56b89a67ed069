-- Audit log (internal/audit): an append-only Merkle log. data is the canonical entry (the bytes
-- that are hashed); hashes holds the tlog stored hashes the record completed (32 bytes each);
-- the other columns only index the entry for the auditor's search and are never trusted.
CREATE TABLE audit_records (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor_id  BIGINT NOT NULL DEFAULT 0,
    username  TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    dataset   TEXT NOT NULL DEFAULT '',
    data      TEXT NOT NULL,
    hashes    BLOB NOT NULL
);
CREATE INDEX audit_records_actor ON audit_records(actor_id, seq);
CREATE INDEX audit_records_action ON audit_records(action, seq);
CREATE INDEX audit_records_dataset ON audit_records(dataset, seq);
CREATE INDEX audit_records_at ON audit_records(at);

-- Signed checkpoints; note is the signed text, size/root/at are unauthenticated copies.
CREATE TABLE audit_checkpoints (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    size  BIGINT NOT NULL,
    root  TEXT NOT NULL,
    at    BIGINT NOT NULL,
    note  TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints(size, id);

-- Append-only: the platform never updates or deletes. Someone with direct database access
-- can drop these triggers; `citybrain audit verify` catches what they do next.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
