-- Profiles in a cluster: several processes may hold a workspace's graph in memory, so every
-- profile write names the generation its graph was loaded at, and a stale writer is refused
-- (it reloads and tries again). Authors of stored messages are resolved by following the
-- store in seq order; `resolved_seq` says how far, and moves in the same transaction as the
-- profile changes it caused. The lease lets one process at a time do that following.
CREATE TABLE profile_generations (
    workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces(id),
    generation    INTEGER NOT NULL
);

CREATE TABLE profile_resolution (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    resolved_seq  INTEGER NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER
);

-- Until now the pipeline resolved each batch as it stored it: start after what is stored.
INSERT INTO profile_resolution (id, resolved_seq)
    SELECT 1, coalesce(max(seq), 0) FROM messages;
