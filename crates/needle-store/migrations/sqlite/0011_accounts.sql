-- Accounts: the people who sign in to the web app, the API tokens scripts use, and the audit
-- log of what both did. A role is held per workspace; workspace_id 0 means every workspace
-- (an operator's admin on a laptop). Sessions and tokens are kept as SHA-256 hashes of the
-- random values handed out, so a copy of the database lets nobody in; passwords as Argon2id
-- PHC strings. A password Needle made up (`needle user add` without
-- --password-stdin) is good for one sign-in: must_change_password sends its user to choose
-- their own before anything else. Deleting a user takes their roles and sessions along.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id  INTEGER NOT NULL,
    role          TEXT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    workspace_id  INTEGER NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    workspace_id  INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, id);
