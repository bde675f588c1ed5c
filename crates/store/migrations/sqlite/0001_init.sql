-- zhengqi schema v1 (SQLite). Kept in step with ../postgres/0001_init.sql:
-- only identity columns and trigger syntax differ.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (sorts as time);
-- money is integer 分; lists are JSON text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Reference data documents (areas, departments, industries, size_rules) as
-- loaded from data files; the app builds its in-memory index from them.
CREATE TABLE reference_docs (
    kind       TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE enterprises (
    uscc           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    legal_rep      TEXT NOT NULL,
    founded        TEXT,
    area           TEXT NOT NULL,
    industry       TEXT NOT NULL,
    size_class     TEXT,
    size_basis     TEXT,
    tags           TEXT NOT NULL,
    certifications TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX enterprises_area ON enterprises (area);
CREATE INDEX enterprises_name ON enterprises (name);

-- Append-only: a corrected figure is a new row; the latest arrival wins.
CREATE TABLE indicators (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc       TEXT NOT NULL REFERENCES enterprises (uscc),
    kind       TEXT NOT NULL,
    year       BIGINT NOT NULL,
    value      BIGINT NOT NULL,
    source     TEXT NOT NULL,
    arrived_at TEXT NOT NULL
);
CREATE INDEX indicators_uscc ON indicators (uscc, kind, year, id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    enterprise    TEXT REFERENCES enterprises (uscc),
    department    TEXT,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

-- Tokens are stored only as SHA-256 hashes, so a database leak gives no session.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor_id    BIGINT,
    actor_name  TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
