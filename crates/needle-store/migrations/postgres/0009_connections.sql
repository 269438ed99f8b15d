-- Connections: the same logical schema as migrations/sqlite/0009_connections.sql, which says
-- why.
CREATE TABLE connections (
    id                    BIGSERIAL PRIMARY KEY,
    workspace_id          BIGINT NOT NULL REFERENCES workspaces(id),
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    config                TEXT NOT NULL,
    secret                TEXT,
    enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    checkpoint            TEXT,
    checkpoint_at         BIGINT,
    last_attempt_at       BIGINT,
    last_success_at       BIGINT,
    last_error            TEXT,
    last_error_at         BIGINT,
    consecutive_failures  BIGINT NOT NULL DEFAULT 0,
    messages_total        BIGINT NOT NULL DEFAULT 0,
    errors_total          BIGINT NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, name)
);
