-- Policy library (issue 3). A policy is identified by its key (发文字号, or
-- the file name when the record has none); each changed document becomes a
-- new version, and the policy row mirrors the current version.
CREATE TABLE policies (
    id              BIGSERIAL PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    title_derived   BIGINT NOT NULL,
    issuer          TEXT NOT NULL,
    doc_number      TEXT NOT NULL,
    published_on    TEXT,
    policy_type     TEXT NOT NULL,
    status          TEXT NOT NULL,
    valid_until     TEXT,
    sizes           TEXT NOT NULL,
    areas           TEXT NOT NULL,
    departments     TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE policy_versions (
    id           BIGSERIAL PRIMARY KEY,
    policy_id    BIGINT NOT NULL REFERENCES policies (id),
    version      BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    raw_text     TEXT NOT NULL,
    parsed       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (policy_id, version)
);

-- 流程再造任务清单: one task per article with lead units.
CREATE TABLE policy_tasks (
    id         BIGSERIAL PRIMARY KEY,
    policy_id  BIGINT NOT NULL REFERENCES policies (id),
    article    BIGINT NOT NULL,
    title      TEXT NOT NULL,
    lead_units TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (policy_id, article)
);

CREATE TABLE policy_task_departments (
    task_id    BIGINT NOT NULL REFERENCES policy_tasks (id),
    department TEXT NOT NULL,
    PRIMARY KEY (task_id, department)
);
CREATE INDEX policy_task_departments_dept ON policy_task_departments (department);
