-- Cases: one per conversation (a channel's thread) that needs the team, with its status,
-- priority, assignee, labels and SLA times. A new inbound message in a resolved case opens it
-- again. `priority` is a rank (0 urgent, 1 high, 2 normal, 3 low) so that queues sort by it.
-- Every change (assignment, status, note, label) is an event of the case, with who made it.
CREATE INDEX messages_by_thread ON messages (workspace_id, channel, thread_id);

CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
    channel             TEXT NOT NULL,
    thread_id           TEXT NOT NULL,
    subject             TEXT NOT NULL,
    customer            TEXT NOT NULL,
    status              TEXT NOT NULL,
    snoozed_until       INTEGER,
    priority            INTEGER NOT NULL,
    assignee            TEXT,
    labels              TEXT NOT NULL DEFAULT '[]',
    opened_at           INTEGER NOT NULL,
    last_inbound_at     INTEGER NOT NULL,
    first_response_due  INTEGER NOT NULL,
    first_response_at   INTEGER,
    resolution_due      INTEGER NOT NULL,
    resolved_at         INTEGER,
    messages            INTEGER NOT NULL DEFAULT 0,
    updated_at          INTEGER NOT NULL,
    UNIQUE (workspace_id, channel, thread_id)
);
CREATE INDEX cases_queue ON cases (workspace_id, status, priority, last_inbound_at);
CREATE INDEX cases_by_assignee ON cases (workspace_id, assignee, status);

CREATE TABLE case_events (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_id, id);

-- Canned responses: a workspace's ready answers, with {{ … }} variables the inbox fills from
-- the customer's profile and the case.
CREATE TABLE canned_responses (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    body          TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);
