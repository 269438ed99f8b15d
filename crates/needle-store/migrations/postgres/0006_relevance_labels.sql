-- Agents' relevance labels: the same logical schema as
-- migrations/sqlite/0006_relevance_labels.sql.
CREATE TABLE relevance_labels (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    topic_id      BIGINT NOT NULL REFERENCES topics(id),
    message_seq   BIGINT NOT NULL REFERENCES messages(seq),
    text          TEXT NOT NULL,
    relevant      BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (topic_id, message_seq)
);
