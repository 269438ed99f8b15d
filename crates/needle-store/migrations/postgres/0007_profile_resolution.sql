-- Profile generations and the resolution cursor: the same logical schema as
-- migrations/sqlite/0007_profile_resolution.sql, which says why.
CREATE TABLE profile_generations (
    workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces(id),
    generation    BIGINT NOT NULL
);

CREATE TABLE profile_resolution (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    resolved_seq  BIGINT NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT
);

INSERT INTO profile_resolution (id, resolved_seq)
    SELECT 1, coalesce(max(seq), 0) FROM messages;
