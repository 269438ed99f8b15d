-- Connections: one configured channel of a workspace (a feed polled, a webhook endpoint, a
-- mailbox). The checkpoint is where a pulling source goes on from; it is written in the same
-- transaction as the messages it produced (`Store::insert_from_source`), so a crash replays a
-- batch and never loses or doubles one. Health is what the last attempts did, for the API
-- and /metrics. `secret` is kept apart from `config` so that nothing that shows a connection
-- can show it back by accident.
CREATE TABLE connections (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces(id),
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    config                TEXT NOT NULL,
    secret                TEXT,
    enabled               INTEGER NOT NULL DEFAULT 1,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    checkpoint            TEXT,
    checkpoint_at         INTEGER,
    last_attempt_at       INTEGER,
    last_success_at       INTEGER,
    last_error            TEXT,
    last_error_at         INTEGER,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    messages_total        INTEGER NOT NULL DEFAULT 0,
    errors_total          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, name)
);
