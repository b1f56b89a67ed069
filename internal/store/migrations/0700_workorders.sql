-- Work orders (工单), their event history, counters, settings and triage training examples.
-- The whole order is kept as a JSON document in doc; the columns beside it are what lists,
-- Open311 GET requests.json, the deadline job and duplicate detection filter and sort on.
CREATE TABLE workorders (
    id            {{ID}},
    tracking_no   TEXT NOT NULL UNIQUE,
    token_hash    TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL,
    category      TEXT NOT NULL,
    subcategory   TEXT NOT NULL DEFAULT '',
    priority      TEXT NOT NULL,
    state         TEXT NOT NULL,
    is_open       INTEGER NOT NULL,
    lead_dept     TEXT NOT NULL DEFAULT '',
    street        TEXT NOT NULL DEFAULT '',
    community     TEXT NOT NULL DEFAULT '',
    grid          TEXT NOT NULL DEFAULT '',
    has_location  INTEGER NOT NULL DEFAULT 0,
    lon           DOUBLE PRECISION NOT NULL DEFAULT 0,
    lat           DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deadline      BIGINT NOT NULL DEFAULT 0,
    responded_at  BIGINT NOT NULL DEFAULT 0,
    closed_at     BIGINT NOT NULL DEFAULT 0,
    next_due      BIGINT NOT NULL DEFAULT 0,
    duplicate_of  BIGINT NOT NULL DEFAULT 0,
    resolution    TEXT NOT NULL DEFAULT '',
    -- Public fields, so Open311 lists are answered without decoding documents.
    description   TEXT NOT NULL DEFAULT '',
    status_notes  TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    address_id    TEXT NOT NULL DEFAULT '',
    zipcode       TEXT NOT NULL DEFAULT '',
    media_url     TEXT NOT NULL DEFAULT '',
    version       BIGINT NOT NULL,
    doc           TEXT NOT NULL
);
-- Newest-first listing and Open311's date range; category (+ status) filters.
CREATE INDEX workorders_created ON workorders(created_at, id);
CREATE INDEX workorders_category ON workorders(category, created_at, id);
CREATE INDEX workorders_subcategory ON workorders(subcategory, created_at, id);
CREATE INDEX workorders_open ON workorders(is_open, created_at, id);
CREATE INDEX workorders_category_open ON workorders(category, is_open, created_at, id);
CREATE INDEX workorders_state ON workorders(state, created_at, id);
CREATE INDEX workorders_dept ON workorders(lead_dept, is_open, created_at);
CREATE INDEX workorders_street ON workorders(street, created_at);
CREATE INDEX workorders_closed ON workorders(closed_at);
-- The deadline job: open orders with something due.
CREATE INDEX workorders_due ON workorders(is_open, next_due);
-- Duplicate detection: open orders of a category, recent, near a point.
CREATE INDEX workorders_nearby ON workorders(category, is_open, lat, lon);

CREATE TABLE workorder_reporters (
    order_id  BIGINT NOT NULL REFERENCES workorders(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX workorder_reporters_user ON workorder_reporters(user_id, order_id);

CREATE TABLE workorder_events (
    id        {{ID}},
    order_id  BIGINT NOT NULL REFERENCES workorders(id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    action    TEXT NOT NULL,
    public    INTEGER NOT NULL DEFAULT 0,
    doc       TEXT NOT NULL
);
CREATE INDEX workorder_events_order ON workorder_events(order_id, id);
CREATE INDEX workorder_events_public ON workorder_events(public, at, id);

CREATE TABLE workorder_sequences (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);

CREATE TABLE workorder_config (
    key         TEXT PRIMARY KEY,
    doc         TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE workorder_training (
    id        {{ID}},
    order_id  BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    doc       TEXT NOT NULL
);
