-- The spine: workspaces, the authors we have heard from, and every message once.
-- The same logical schema as migrations/sqlite/0001_init.sql, table for table and column for
-- column (a test in src/postgres.rs compares the two). How the types correspond:
--   * ids, seqs, counts: BIGINT (SQLite's INTEGER is 64-bit too); ids and seqs are identity
--     columns, GENERATED ALWAYS so that nothing can write a seq out of turn;
--   * times: BIGINT microseconds since the Unix epoch, UTC, as in SQLite, so both backends
--     compare, page and round-trip times the same way (no time zone or precision surprises);
--   * flags: BOOLEAN, where SQLite has INTEGER 0/1 (it has no boolean type);
--   * scores: DOUBLE PRECISION, SQLite's REAL;
--   * `doc`, the message JSON without `text`: TEXT, not JSONB, so it reads back byte for byte
--     (JSONB reorders keys and Needle keeps the order fields came in).
-- The migration bookkeeping table, needle_schema_migrations, is created by the code that
-- applies this file (src/postgres.rs), not here: it has to exist before the first migration.

CREATE TABLE workspaces (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    demo        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);

-- One row per author identifier seen on a channel; identity resolution builds on these.
CREATE TABLE authors (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    channel       TEXT NOT NULL,
    key           TEXT NOT NULL,
    handle        TEXT,
    name          TEXT,
    email         TEXT,
    phone         TEXT,
    followers     BIGINT,
    verified      BOOLEAN,
    country       TEXT,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    UNIQUE (workspace_id, channel, key)
);

-- `seq` orders messages by arrival; the search index remembers the last seq it holds.
-- Sequences hand out numbers at insert time, not commit time: see "Seqs and commit order" in
-- src/postgres.rs for how writers are kept from committing seqs out of order.
CREATE TABLE messages (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    channel       TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    direction     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    ingested_at   BIGINT NOT NULL,
    author_id     BIGINT NOT NULL REFERENCES authors(id),
    thread_id     TEXT,
    text          TEXT NOT NULL,
    doc           TEXT NOT NULL,
    UNIQUE (workspace_id, channel, source_id)
);

-- A PostgreSQL index entry does not end with the row's key as SQLite's does, so seq is
-- spelled out: the (created_at, seq) cursor of a newest-first listing is then one index range.
CREATE INDEX messages_newest ON messages (workspace_id, created_at, seq);

-- What the classify stages learn about a message (filled by a later issue).
CREATE TABLE classifications (
    message_seq      BIGINT PRIMARY KEY REFERENCES messages(seq),
    lang             TEXT,
    sentiment_label  TEXT,
    sentiment_score  DOUBLE PRECISION,
    intents          TEXT,
    entities         TEXT,
    updated_at       BIGINT NOT NULL
);
