-- Cases: the same logical schema as migrations/sqlite/0012_cases.sql, which says why.
CREATE INDEX messages_by_thread ON messages (workspace_id, channel, thread_id);

CREATE TABLE cases (
    id                  BIGSERIAL PRIMARY KEY,
    workspace_id        BIGINT NOT NULL REFERENCES workspaces(id),
    channel             TEXT NOT NULL,
    thread_id           TEXT NOT NULL,
    subject             TEXT NOT NULL,
    customer            TEXT NOT NULL,
    status              TEXT NOT NULL,
    snoozed_until       BIGINT,
    priority            BIGINT NOT NULL,
    assignee            TEXT,
    labels              TEXT NOT NULL DEFAULT '[]',
    opened_at           BIGINT NOT NULL,
    last_inbound_at     BIGINT NOT NULL,
    first_response_due  BIGINT NOT NULL,
    first_response_at   BIGINT,
    resolution_due      BIGINT NOT NULL,
    resolved_at         BIGINT,
    messages            BIGINT NOT NULL DEFAULT 0,
    updated_at          BIGINT NOT NULL,
    UNIQUE (workspace_id, channel, thread_id)
);
CREATE INDEX cases_queue ON cases (workspace_id, status, priority, last_inbound_at);
CREATE INDEX cases_by_assignee ON cases (workspace_id, assignee, status);

CREATE TABLE case_events (
    id       BIGSERIAL PRIMARY KEY,
    case_id  BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_id, id);

CREATE TABLE canned_responses (
    id            BIGSERIAL PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    body          TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);
