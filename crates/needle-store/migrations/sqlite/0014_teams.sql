-- Teams: who is in one (`members`, a JSON array of e-mail addresses in turn order), when it
-- works (`hours`, as written: `Mon-Fri 09:00-17:00 +01:00`), how its new cases are assigned
-- (`manual`, `round_robin`, `least_loaded`), which channels' new cases it takes (`channels`,
-- JSON), and whose turn is next in a round robin. A case names its team.
CREATE TABLE teams (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    members       TEXT NOT NULL DEFAULT '[]',
    hours         TEXT NOT NULL DEFAULT 'always',
    assignment    TEXT NOT NULL DEFAULT 'manual',
    channels      TEXT NOT NULL DEFAULT '[]',
    next_turn     INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

ALTER TABLE cases ADD COLUMN team TEXT;
CREATE INDEX cases_by_team ON cases (workspace_id, team, status);
