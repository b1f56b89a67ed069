-- Governance: the catalog of imported datasets (columns with their class and grade as a
-- JSON document), the imported rows (one JSON object per row, keyed by column name),
-- sharing requests and grants, and the append-only history of household consent.
CREATE TABLE gov_datasets (
    name           TEXT PRIMARY KEY,
    title          TEXT NOT NULL DEFAULT '',
    owner          TEXT NOT NULL,
    sharing        TEXT NOT NULL,
    sharing_reason TEXT NOT NULL DEFAULT '',
    home_device    INTEGER NOT NULL DEFAULT 0,
    columns        TEXT NOT NULL,
    row_count      BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE gov_rows (
    dataset TEXT NOT NULL,
    row_no  BIGINT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (dataset, row_no)
);

CREATE TABLE gov_requests (
    id              {{ID}},
    dataset         TEXT NOT NULL,
    owner           TEXT NOT NULL,
    columns         TEXT NOT NULL DEFAULT '[]',
    level           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    days            INTEGER NOT NULL,
    requester       TEXT NOT NULL,
    requester_user  BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    review_due      BIGINT NOT NULL,
    answer_due      BIGINT NOT NULL,
    decided_at      BIGINT NOT NULL DEFAULT 0,
    decided_by      BIGINT NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT '',
    grant_id        BIGINT NOT NULL DEFAULT 0,
    escalated_at    BIGINT NOT NULL DEFAULT 0,
    escalation_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gov_requests_owner ON gov_requests(owner, state);
CREATE INDEX gov_requests_requester ON gov_requests(requester, state);

CREATE TABLE gov_grants (
    id            {{ID}},
    dataset       TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    columns       TEXT NOT NULL DEFAULT '[]',
    grantee       TEXT NOT NULL,
    level         TEXT NOT NULL,
    purpose       TEXT NOT NULL DEFAULT '',
    start_at      BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0,
    revoked_at    BIGINT NOT NULL DEFAULT 0,
    revoked_by    BIGINT NOT NULL DEFAULT 0,
    revoke_reason TEXT NOT NULL DEFAULT '',
    approver      BIGINT NOT NULL DEFAULT 0,
    request_id    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX gov_grants_grantee ON gov_grants(grantee, dataset);
CREATE INDEX gov_grants_owner ON gov_grants(owner);

CREATE TABLE gov_consent (
    id        {{ID}},
    household TEXT NOT NULL,
    purpose   TEXT NOT NULL,
    status    TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT '',
    by_user   BIGINT NOT NULL DEFAULT 0,
    at        BIGINT NOT NULL
);
CREATE INDEX gov_consent_household ON gov_consent(household, purpose, id);

-- Versions of the decision policy (JSON); the latest is in force, older ones are history.
CREATE TABLE gov_policy (
    id         {{ID}},
    doc        TEXT NOT NULL,
    created_by BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
