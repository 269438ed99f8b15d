-- Topics: named NQL queries per workspace, versioned so that a change keeps the old
-- version's history, with the messages each version matched and backfill progress.
-- The same logical schema as migrations/sqlite/0002_topics.sql, with the type
-- correspondence of 0001_init.sql (integers and times BIGINT). The PostgreSQL backend has
-- the tables before it implements `TopicStore`, so that schema version N means the same on
-- both backends.

CREATE TABLE topics (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces(id),
    key              TEXT NOT NULL,
    current_version  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT,
    UNIQUE (workspace_id, key)
);

CREATE TABLE topic_versions (
    topic_id    BIGINT NOT NULL REFERENCES topics(id),
    version     BIGINT NOT NULL,
    level       TEXT NOT NULL,
    query       TEXT NOT NULL,
    exclude     TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (topic_id, version)
);

-- Which messages a topic version matched. `created_at` is the message's, copied so that a
-- topic's stream lists newest first from this table alone.
CREATE TABLE message_topics (
    topic_id     BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    message_seq  BIGINT NOT NULL REFERENCES messages(seq),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (topic_id, version, message_seq)
);
-- message_seq spelled out: the stream pages by (created_at, message_seq), and a PostgreSQL
-- index entry does not end with a row id as SQLite's does.
CREATE INDEX message_topics_newest ON message_topics (topic_id, version, created_at, message_seq);
CREATE INDEX message_topics_by_message ON message_topics (message_seq);

-- Computing a topic version's history over stored messages, newest first; resumable.
CREATE TABLE backfills (
    topic_id     BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    upto_seq     BIGINT NOT NULL,
    next_seq     BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    done         BIGINT NOT NULL,
    matched      BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (topic_id, version)
);
