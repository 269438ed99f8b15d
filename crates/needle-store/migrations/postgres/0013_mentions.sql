-- Mentions: the same logical schema as migrations/sqlite/0013_mentions.sql, which says why.
CREATE TABLE case_mentions (
    id            BIGSERIAL PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    case_id       BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    event_id      BIGINT NOT NULL REFERENCES case_events(id) ON DELETE CASCADE,
    recipient     TEXT NOT NULL,
    at            BIGINT NOT NULL,
    seen_at       BIGINT
);
CREATE INDEX case_mentions_unseen ON case_mentions (workspace_id, recipient, seen_at, case_id);
