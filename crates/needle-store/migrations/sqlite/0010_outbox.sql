-- The outbox: everything Needle sends out (outbound webhook events now, replies later), one
-- row per delivery, sent by a worker that retries with backoff. `key` is the idempotency key:
-- unique per connection, so queueing the same event twice queues it once, and sent with
-- every attempt, so a receiver can drop a retry of a send that did arrive. Every attempt is
-- kept in `outbox_attempts`.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id),
    connection_id    INTEGER NOT NULL,
    key              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    receipt          TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (connection_id, key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_workspace ON outbox (workspace_id, id);

CREATE TABLE outbox_attempts (
    id         INTEGER PRIMARY KEY,
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX outbox_attempts_by_item ON outbox_attempts (outbox_id, id);
