-- Integration with other systems (issue 5): outbound webhooks fed by the
-- outbox, and inbound status callbacks deduplicated by external event id.

-- A receiving system. The secret signs every delivery (HMAC-SHA256), so it
-- is kept in clear; it is shown to the administrator once, at creation.
CREATE TABLE webhook_subscriptions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    -- '*' or a comma-separated list of notice types (case_issued, …).
    events      TEXT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    disabled_at TEXT
);

-- Outbox rows not yet fanned out to the subscriptions. Marked rather than
-- tracked by a cursor: on PostgreSQL ids commit out of order, and a cursor
-- would skip a row whose transaction committed late.
ALTER TABLE outbox ADD COLUMN fanned_out_at TEXT;
CREATE INDEX outbox_fanout ON outbox (id) WHERE fanned_out_at IS NULL;

-- One row per (outbox row, subscription): each receiver gets each event at
-- least once and retries on its own schedule. A claimed delivery has its
-- next_attempt_at pushed past the send timeout (a lease), so a server that
-- dies mid-send leaves it to be retried, never lost.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id       BIGINT NOT NULL REFERENCES outbox (id),
    subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions (id),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    dead            BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_status     BIGINT,
    last_attempt_at TEXT,
    UNIQUE (outbox_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND dead = 0;
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (subscription_id) WHERE dead = 1;

-- Inbound status callbacks, one per (account, external event id): a repeated
-- callback returns the stored answer and is never applied twice. A row is
-- reserved ('pending') before the case event is applied and completed
-- ('done') with the answer afterwards.
CREATE TABLE inbound_events (
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    external_at  TEXT NOT NULL,
    state        TEXT NOT NULL,
    -- The case's event count when reserved: after a crash between applying
    -- and completing, the event log after this point tells whether it applied.
    case_seq     BIGINT NOT NULL,
    status_code  BIGINT,
    response     TEXT,
    created_at   TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (source, event_id)
);
