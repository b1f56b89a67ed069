-- Photos attached to reports, feedback and verification. The id is a random hex string.
CREATE TABLE workorder_media (
    id            TEXT PRIMARY KEY,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    uploaded_by   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    data          {{BLOB}} NOT NULL
);
