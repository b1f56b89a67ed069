-- Assessment (评估考核): versioned indicator systems, manual inputs with evidence, stored
-- results per (system, period, unit), and the work-order facts table the metrics aggregate.

-- Every version of every indicator system; a version is never changed once stored.
CREATE TABLE assess_systems (
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    unit_kind   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);

-- Manual inputs (实地考察, 问卷, maturity scores) with their evidence; the latest entry for a
-- (system, period, unit, indicator) is the one in force.
CREATE TABLE assess_manual (
    system_id    TEXT NOT NULL,
    period       TEXT NOT NULL,
    unit         TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    evidence     TEXT NOT NULL DEFAULT '',
    evidence_url TEXT NOT NULL DEFAULT '',
    entered_by   TEXT NOT NULL DEFAULT '',
    entered_at   BIGINT NOT NULL,
    PRIMARY KEY (system_id, period, unit, indicator)
);

-- One computation of a system for a period: which version, when, by whom.
CREATE TABLE assess_runs (
    system_id    TEXT NOT NULL,
    period       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    period_from  BIGINT NOT NULL,
    period_to    BIGINT NOT NULL,
    computed_at  BIGINT NOT NULL,
    computed_by  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (system_id, period)
);

-- The results of a run, one row per unit; doc is the whole assess.Result (indicator scores,
-- metric values, comparison with the previous period).
CREATE TABLE assess_results (
    system_id TEXT NOT NULL,
    period   TEXT NOT NULL,
    unit     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    total    DOUBLE PRECISION NOT NULL,
    grade    TEXT NOT NULL,
    unit_rank INTEGER NOT NULL DEFAULT 0,
    ranked   INTEGER NOT NULL DEFAULT 0,
    cases    INTEGER NOT NULL DEFAULT 0,
    doc      TEXT NOT NULL,
    PRIMARY KEY (system_id, period, unit)
);
CREATE INDEX assess_results_unit ON assess_results(system_id, unit);

-- One row per work order, maintained incrementally from workorders (+ workorder_events) by
-- the sync step; times are epoch ms, flags 0/1. See docs/assessment.md for each definition.
CREATE TABLE assess_wo_facts (
    order_id       BIGINT PRIMARY KEY,
    tracking_no    TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    street         TEXT NOT NULL DEFAULT '',
    community      TEXT NOT NULL DEFAULT '',
    grid           TEXT NOT NULL DEFAULT '',
    lead_dept      TEXT NOT NULL DEFAULT '',
    category       TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    deadline       BIGINT NOT NULL DEFAULT 0,
    ack_at         BIGINT NOT NULL DEFAULT 0,
    handled_at     BIGINT NOT NULL DEFAULT 0,
    closed_at      BIGINT NOT NULL DEFAULT 0,
    base           INTEGER NOT NULL DEFAULT 1,
    duplicate      INTEGER NOT NULL DEFAULT 0,
    closed         INTEGER NOT NULL DEFAULT 0,
    rated          INTEGER NOT NULL DEFAULT 0,
    resolved       INTEGER NOT NULL DEFAULT 0,
    satisfied      INTEGER NOT NULL DEFAULT 0,
    reworks        INTEGER NOT NULL DEFAULT 0,
    extensions     INTEGER NOT NULL DEFAULT 0,
    ack_ontime     INTEGER NOT NULL DEFAULT 0,
    closed_ontime  INTEGER NOT NULL DEFAULT 0,
    handle_ms      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX assess_wo_facts_created ON assess_wo_facts(created_at);

-- Sync watermarks: the highest order id and updated_at already folded into the facts.
CREATE TABLE assess_sync (
    name        TEXT PRIMARY KEY,
    max_id      BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL DEFAULT 0
);

-- The sync reads orders updated since the watermark.
CREATE INDEX assess_workorders_updated ON workorders(updated_at, id);
