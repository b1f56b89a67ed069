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
    hashes    BYTEA NOT NULL
);
CREATE INDEX audit_records_actor ON audit_records(actor_id, seq);
CREATE INDEX audit_records_action ON audit_records(action, seq);
CREATE INDEX audit_records_dataset ON audit_records(dataset, seq);
CREATE INDEX audit_records_at ON audit_records(at);

-- Signed checkpoints; note is the signed text, size/root/at are unauthenticated copies.
CREATE TABLE audit_checkpoints (
    id    BIGSERIAL PRIMARY KEY,
    size  BIGINT NOT NULL,
    root  TEXT NOT NULL,
    at    BIGINT NOT NULL,
    note  TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints(size, id);

-- Append-only: the platform never updates or deletes. Someone with direct database access
-- can drop these triggers; `citybrain audit verify` catches what they do next.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
