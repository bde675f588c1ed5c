-- Approval cases (issue 5). Each case is its event log plus a snapshot of
-- the state those events produce; every event is appended in the same
-- transaction that updates the snapshot, the per-department index, the
-- outbox and the audit log.
CREATE TABLE cases (
    id              TEXT PRIMARY KEY,
    applicant       TEXT NOT NULL,
    matter_code     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL,
    snapshot        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (applicant, idempotency_key)
);
CREATE INDEX cases_applicant ON cases (applicant);

CREATE TABLE case_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases (id),
    seq     BIGINT NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    event   TEXT NOT NULL,
    UNIQUE (case_id, seq)
);

-- One row per department part, for department queues ordered by deadline.
CREATE TABLE case_parts (
    case_id    TEXT NOT NULL REFERENCES cases (id),
    department TEXT NOT NULL,
    item_code  TEXT NOT NULL,
    state      TEXT NOT NULL,
    deadline   TEXT,
    PRIMARY KEY (case_id, department)
);
CREATE INDEX case_parts_queue ON case_parts (department, state, deadline);

-- Durable outbox: notices to deliver (webhooks, SMS, inbox), written in the
-- transaction of the change that caused them.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      TEXT NOT NULL,
    notice       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    delivered_at TEXT,
    dead         BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, dead, id);
