-- Rules (规则), alerts (告警) with their history, the rule engine's state snapshot and
-- webhook subscriptions with their delivery log. A rule is kept whole as a JSON document
-- in doc; the columns beside it are what lists filter on.
CREATE TABLE rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    profile     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    doc         TEXT NOT NULL
);

CREATE TABLE alerts (
    id                  {{ID}},
    rule_id             TEXT NOT NULL,
    rule_name           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    entity              TEXT NOT NULL,
    device_id           TEXT NOT NULL,
    profile             TEXT NOT NULL,
    area                TEXT NOT NULL,
    severity            TEXT NOT NULL,
    level               INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL,
    summary             TEXT NOT NULL,
    value               DOUBLE PRECISION NOT NULL DEFAULT 0,
    readings            TEXT NOT NULL DEFAULT '[]',
    count               INTEGER NOT NULL DEFAULT 1,
    starts_at           BIGINT NOT NULL,
    fired_at            BIGINT NOT NULL DEFAULT 0,
    acked_at            BIGINT NOT NULL DEFAULT 0,
    acked_by            TEXT NOT NULL DEFAULT '',
    resolved_at         BIGINT NOT NULL DEFAULT 0,
    resolved_by         TEXT NOT NULL DEFAULT '',
    escalated_at        BIGINT NOT NULL DEFAULT 0,
    updated_at          BIGINT NOT NULL,
    open_work_order     INTEGER NOT NULL DEFAULT 0,
    work_order_category TEXT NOT NULL DEFAULT '',
    work_order_error    TEXT NOT NULL DEFAULT ''
);
-- Deduplication: at most one unresolved alert per (rule, entity), enforced by the database.
CREATE UNIQUE INDEX alerts_open_key ON alerts (rule_id, entity) WHERE status <> 'resolved';
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_area ON alerts (area, id);
CREATE INDEX alerts_starts ON alerts (starts_at);
CREATE INDEX alerts_device ON alerts (device_id, id);

CREATE TABLE alert_history (
    id          {{ID}},
    alert_id    BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    level       INTEGER NOT NULL DEFAULT 0,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, id);

-- One row: the rule engine's window state, saved periodically and at shutdown.
CREATE TABLE rule_state (
    id       INTEGER PRIMARY KEY,
    saved_at BIGINT NOT NULL,
    state    {{BLOB}} NOT NULL
);

CREATE TABLE webhook_subscriptions (
    id           {{ID}},
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    events       TEXT NOT NULL DEFAULT '[]',
    min_severity TEXT NOT NULL DEFAULT '',
    area         TEXT NOT NULL DEFAULT '',
    enabled      INTEGER NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              {{ID}},
    subscription_id BIGINT NOT NULL,
    delivery_id     TEXT NOT NULL,
    event           TEXT NOT NULL,
    alert_id        BIGINT NOT NULL,
    attempt         INTEGER NOT NULL,
    status_code     INTEGER NOT NULL,
    ok              INTEGER NOT NULL,
    final           INTEGER NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
