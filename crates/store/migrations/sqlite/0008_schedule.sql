-- The approval scheduler (issue 5): every reminder or warning it sends,
-- at most once per (case, key). The key names the rule and the deadline
-- it is about (e.g. `warn80:<department>:<deadline>`), so a deadline moved
-- by a correction earns a new warning while a re-run sends nothing. The
-- row is written in the transaction that writes the notice's outbox row.
CREATE TABLE schedule_notices (
    case_id    TEXT NOT NULL REFERENCES cases (id),
    notice_key TEXT NOT NULL,
    kind       TEXT NOT NULL,
    -- The department a deadline notice is about; NULL for the applicant's.
    department TEXT,
    notice     TEXT NOT NULL,
    sent_on    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, notice_key)
);
CREATE INDEX schedule_notices_department ON schedule_notices (department, kind);
