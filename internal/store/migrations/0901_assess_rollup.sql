-- Daily roll-up of the work-order facts per (local day, street, community, lead department):
-- the sync keeps it up to date with the facts (adding a changed order's new contribution and
-- removing its old one), so a period's metrics sum a few thousand rows instead of scanning one
-- row per order. The facts are rebuilt once so the roll-up starts consistent.
CREATE TABLE assess_wo_rollup (
    day            BIGINT NOT NULL,
    street         TEXT NOT NULL,
    community      TEXT NOT NULL,
    lead_dept      TEXT NOT NULL,
    n_all          BIGINT NOT NULL DEFAULT 0,
    n_dup          BIGINT NOT NULL DEFAULT 0,
    n_base         BIGINT NOT NULL DEFAULT 0,
    n_acked        BIGINT NOT NULL DEFAULT 0,
    n_ack_ok       BIGINT NOT NULL DEFAULT 0,
    n_closed       BIGINT NOT NULL DEFAULT 0,
    n_close_ok     BIGINT NOT NULL DEFAULT 0,
    handle_ms      BIGINT NOT NULL DEFAULT 0,
    n_rated        BIGINT NOT NULL DEFAULT 0,
    n_resolved     BIGINT NOT NULL DEFAULT 0,
    n_satisfied    BIGINT NOT NULL DEFAULT 0,
    n_handled      BIGINT NOT NULL DEFAULT 0,
    n_reworked     BIGINT NOT NULL DEFAULT 0,
    n_dispatched   BIGINT NOT NULL DEFAULT 0,
    n_extended     BIGINT NOT NULL DEFAULT 0,
    n_late         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, street, community, lead_dept)
);
-- Orders whose counting still depends on the clock (not yet acknowledged, handled or closed).
CREATE INDEX assess_wo_facts_pending ON assess_wo_facts(created_at) WHERE base = 1 AND deadline > 0 AND (ack_at = 0 OR handled_at = 0 OR closed = 0);
DELETE FROM assess_wo_facts;
DELETE FROM assess_sync;
