-- Agents' relevance labels: per topic (and so per workspace), one per message, the
-- training data of the relevance model learned for that topic. The text is copied so that
-- retraining reads this table alone. `relevant` is 0 or 1.
CREATE TABLE relevance_labels (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    topic_id      INTEGER NOT NULL REFERENCES topics(id),
    message_seq   INTEGER NOT NULL REFERENCES messages(seq),
    text          TEXT NOT NULL,
    relevant      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (topic_id, message_seq)
);
