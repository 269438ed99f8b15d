-- Topics: named NQL queries per workspace, versioned so that a change keeps the old
-- version's history, with the messages each version matched and backfill progress.

CREATE TABLE topics (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id),
    key              TEXT NOT NULL,
    current_version  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    UNIQUE (workspace_id, key)
);

CREATE TABLE topic_versions (
    topic_id    INTEGER NOT NULL REFERENCES topics(id),
    version     INTEGER NOT NULL,
    level       TEXT NOT NULL,
    query       TEXT NOT NULL,
    exclude     TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (topic_id, version)
);

-- Which messages a topic version matched. `created_at` is the message's, copied so that a
-- topic's stream lists newest first from this table alone.
CREATE TABLE message_topics (
    topic_id     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    message_seq  INTEGER NOT NULL REFERENCES messages(seq),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (topic_id, version, message_seq)
);
CREATE INDEX message_topics_newest ON message_topics (topic_id, version, created_at);
CREATE INDEX message_topics_by_message ON message_topics (message_seq);

-- Computing a topic version's history over stored messages, newest first; resumable.
CREATE TABLE backfills (
    topic_id     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    upto_seq     INTEGER NOT NULL,
    next_seq     INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL,
    matched      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (topic_id, version)
);
