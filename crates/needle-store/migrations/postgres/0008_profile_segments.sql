-- Segment definitions: the same logical schema as migrations/sqlite/0008_profile_segments.sql,
-- which says why.
CREATE TABLE profile_segments (
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    key           TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
