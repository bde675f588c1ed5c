-- Policy eligibility (issue 4): rules as code, precise push, 免申即享 award
-- lists and 即申即享 applications. Money is integer 分.

-- Every saved version of a policy's rule; the highest version is current.
-- Pushes and awards name the version they were computed from.
CREATE TABLE policy_rules (
    policy_id  BIGINT NOT NULL REFERENCES policies (id),
    version    BIGINT NOT NULL,
    text       TEXT NOT NULL,
    rule       TEXT NOT NULL,
    mode       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- The enterprise inbox of policy pushes. The unique key is what makes a
-- push happen at most once per (enterprise, policy rule version), across
-- restarts and concurrent re-matches.
CREATE TABLE policy_pushes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc         TEXT NOT NULL,
    policy_id    BIGINT NOT NULL REFERENCES policies (id),
    rule_version BIGINT NOT NULL,
    amount       BIGINT,
    created_at   TEXT NOT NULL,
    read_at      TEXT,
    UNIQUE (uscc, policy_id, rule_version)
);
CREATE INDEX policy_pushes_uscc ON policy_pushes (uscc, id);

CREATE TABLE award_lists (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id      BIGINT NOT NULL REFERENCES policies (id),
    rule_version   BIGINT NOT NULL,
    status         TEXT NOT NULL,
    publicity_days BIGINT,
    publicity_from TEXT,
    publicity_to   TEXT,
    undetermined   BIGINT NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    reviewed_at    TEXT,
    reviewed_by    TEXT
);

-- One award per enterprise per list; a payment reference is unique, so a
-- payment can be recorded once only.
CREATE TABLE awards (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id        BIGINT NOT NULL REFERENCES award_lists (id),
    uscc           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    status         TEXT NOT NULL,
    account_holder TEXT,
    account_bank   TEXT,
    account_number TEXT,
    confirmed_at   TEXT,
    approved_at    TEXT,
    approved_by    TEXT,
    paid_at        TEXT,
    payment_ref    TEXT UNIQUE,
    updated_at     TEXT NOT NULL,
    UNIQUE (list_id, uscc)
);
CREATE INDEX awards_uscc ON awards (uscc);

CREATE TABLE award_objections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id     BIGINT NOT NULL REFERENCES award_lists (id),
    uscc        TEXT,
    submitter   TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    upheld      BIGINT,
    resolution  TEXT,
    resolved_at TEXT,
    resolved_by TEXT
);

-- 即申即享 applications, decided at once by the rule or queued for a person.
CREATE TABLE policy_applications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc         TEXT NOT NULL,
    policy_id    BIGINT NOT NULL REFERENCES policies (id),
    rule_version BIGINT NOT NULL,
    verdict      TEXT NOT NULL,
    amount       BIGINT,
    status       TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    decided_at   TEXT,
    decided_by   TEXT,
    note         TEXT,
    paid_at      TEXT,
    UNIQUE (uscc, policy_id, rule_version)
);
CREATE INDEX policy_applications_policy ON policy_applications (policy_id, status);
