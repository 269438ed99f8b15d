-- The spine: workspaces, the authors we have heard from, and every message once.
-- Later features add their own numbered migrations (classifications below is the first room).

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    demo        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- One row per author identifier seen on a channel; identity resolution builds on these.
CREATE TABLE authors (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    channel       TEXT NOT NULL,
    key           TEXT NOT NULL,
    handle        TEXT,
    name          TEXT,
    email         TEXT,
    phone         TEXT,
    followers     INTEGER,
    verified      INTEGER,
    country       TEXT,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, key)
);

-- `seq` orders messages by arrival; the search index remembers the last seq it holds.
-- Times are microseconds since the Unix epoch, UTC. `doc` is the message JSON without `text`.
CREATE TABLE messages (
    seq           INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    channel       TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    direction     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,
    author_id     INTEGER NOT NULL REFERENCES authors(id),
    thread_id     TEXT,
    text          TEXT NOT NULL,
    doc           TEXT NOT NULL,
    UNIQUE (workspace_id, channel, source_id)
);

-- Every SQLite index entry ends with the rowid (seq), which breaks ties on created_at.
CREATE INDEX messages_newest ON messages (workspace_id, created_at);

-- What the classify stages learn about a message (filled by a later issue).
CREATE TABLE classifications (
    message_seq      INTEGER PRIMARY KEY REFERENCES messages(seq),
    lang             TEXT,
    sentiment_label  TEXT,
    sentiment_score  REAL,
    intents          TEXT,
    entities         TEXT,
    updated_at       INTEGER NOT NULL
);
