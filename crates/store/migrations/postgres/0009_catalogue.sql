-- Service item catalogue (issue 5): seeded from the shipped JSON on first
-- start, then maintained by the departments. Each item and 一件事 is one row
-- holding its JSON (the domain validates the whole catalogue before any
-- write). The single state row carries the catalogue version: every edit
-- bumps it with a compare-and-set, so two concurrent edits cannot both
-- apply to the same base.
CREATE TABLE catalogue_state (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    source     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE catalogue_items (
    code       TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    department TEXT NOT NULL,
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX catalogue_items_department ON catalogue_items (department, position);

CREATE TABLE catalogue_matters (
    code       TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Every version of every item, append-only like the audit log.
CREATE TABLE catalogue_item_versions (
    code       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (code, version)
);
CREATE FUNCTION catalogue_item_versions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'catalogue_item_versions is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER catalogue_item_versions_no_change BEFORE UPDATE OR DELETE ON catalogue_item_versions
    FOR EACH ROW EXECUTE FUNCTION catalogue_item_versions_append_only();
