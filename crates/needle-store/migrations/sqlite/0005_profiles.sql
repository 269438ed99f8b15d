-- Profiles: one person across channels. Identities and links are numbered per workspace by
-- the in-memory graph (an identity's id is its node number + 1), which is rebuilt from these
-- tables on start. Flags are INTEGER 0/1 on both backends. Times are microseconds.

CREATE TABLE profile_identities (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    id            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    first_seen    INTEGER NOT NULL,
    -- Erased (right to be forgotten): `value` no longer holds the identifier.
    erased        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
);

-- Every link ever made, with its evidence; a removed link keeps its row (`removed_at`).
CREATE TABLE profile_links (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    id            INTEGER NOT NULL,
    a             INTEGER NOT NULL,
    b             INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    confidence    REAL NOT NULL,
    created_at    INTEGER NOT NULL,
    removed_at    INTEGER,
    PRIMARY KEY (workspace_id, id)
);

-- Who linked, unlinked, refused, accepted, rejected or erased what, when and why.
CREATE TABLE profile_audit (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    a             INTEGER NOT NULL,
    b             INTEGER,
    link_id       INTEGER,
    reason        TEXT NOT NULL
);
CREATE INDEX profile_audit_by_workspace ON profile_audit (workspace_id, id);

CREATE TABLE profile_suggestions (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    id            INTEGER NOT NULL,
    a             INTEGER NOT NULL,
    b             INTEGER NOT NULL,
    score         REAL NOT NULL,
    -- JSON array of sentences.
    evidence      TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    decided_by    TEXT,
    decided_at    INTEGER,
    PRIMARY KEY (workspace_id, id)
);

-- One source's value of one trait on one identity; `value` is JSON.
CREATE TABLE profile_traits (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    identity_id   INTEGER NOT NULL,
    name          TEXT NOT NULL,
    source        TEXT NOT NULL,
    value         TEXT NOT NULL,
    trusted       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, identity_id, name, source)
);

-- Computed traits per identity (counters, daily sentiment), as JSON.
CREATE TABLE profile_activity (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    identity_id   INTEGER NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, identity_id)
);

-- Which identity wrote each stored message: the timeline reads messages through it.
CREATE TABLE profile_sightings (
    message_seq   INTEGER PRIMARY KEY REFERENCES messages(seq),
    workspace_id  INTEGER NOT NULL,
    identity_id   INTEGER NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX profile_sightings_by_identity ON profile_sightings (workspace_id, identity_id, at, message_seq);

-- CRM events (purchases, tickets) that join a customer's timeline; `data` is JSON.
CREATE TABLE profile_events (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    identity_id   INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    at            INTEGER NOT NULL,
    data          TEXT NOT NULL,
    UNIQUE (workspace_id, kind, event_id)
);
CREATE INDEX profile_events_by_identity ON profile_events (workspace_id, identity_id, at, id);
