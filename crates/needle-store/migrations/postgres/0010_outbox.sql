-- The outbox: the same logical schema as migrations/sqlite/0010_outbox.sql, which says why.
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces(id),
    connection_id    BIGINT NOT NULL,
    key              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    receipt          TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (connection_id, key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_workspace ON outbox (workspace_id, id);

CREATE TABLE outbox_attempts (
    id         BIGSERIAL PRIMARY KEY,
    outbox_id  BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX outbox_attempts_by_item ON outbox_attempts (outbox_id, id);
