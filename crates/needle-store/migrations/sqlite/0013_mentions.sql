-- Mentions: one row per person a case note @mentions, so that the person finds the case in
-- their Mentions queue until they open it (`seen_at`). A table rather than a scan of the
-- notes' JSON: "seen" is per person and has to be stored anyway, and the queue counts on
-- every inbox page, which an index answers and a JSON scan of every note would not.
CREATE TABLE case_mentions (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    event_id      INTEGER NOT NULL REFERENCES case_events(id) ON DELETE CASCADE,
    recipient     TEXT NOT NULL,
    at            INTEGER NOT NULL,
    seen_at       INTEGER
);
CREATE INDEX case_mentions_unseen ON case_mentions (workspace_id, recipient, seen_at, case_id);
