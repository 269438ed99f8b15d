-- Live segments: a saved condition over traits and events. Only definitions are stored;
-- members are computed from the profile graph in memory and kept up to date as it changes,
-- so a definition written here is part of the workspace's profile state and moves its
-- generation like any other profile write.
CREATE TABLE profile_segments (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    key           TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
