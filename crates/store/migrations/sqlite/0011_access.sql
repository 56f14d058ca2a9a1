-- People log in as themselves, tokens belong to people or teams, roles by team, and an audit log.

-- A person's password (an argon2id PHC string; NULL: none), whether they administer the
-- installation, and the OpenID Connect account they signed in with ("issuer subject").
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;

-- A member's role in the team: owner, responder, viewer or stakeholder.
ALTER TABLE team_members ADD COLUMN role TEXT NOT NULL DEFAULT 'responder';

-- A token acts as its person (user_id) or for its team (team_id), with at most `role`; a token of
-- neither (made on the database, for bootstrap) administers the installation.
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users (id);
ALTER TABLE api_tokens ADD COLUMN team_id INTEGER REFERENCES teams (id);
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

-- The team that owns a schedule or an escalation policy; NULL: administrators edit it.
ALTER TABLE schedules ADD COLUMN team_id INTEGER REFERENCES teams (id);
ALTER TABLE escalation_policies ADD COLUMN team_id INTEGER REFERENCES teams (id);

-- A logged-in browser: the SHA-256 of the random id in its cookie, ending when idle
-- (last_seen_at), at expires_at whatever happens, or when revoked.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    method       TEXT NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A sign-in with the OpenID provider under way: what the callback needs, found by the SHA-256 of
-- its state, used once.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    verifier   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Who did what, when, from where; before and after are JSON documents of the object.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    user_id  INTEGER,
    token_id INTEGER,
    address  TEXT NOT NULL DEFAULT '',
    action   TEXT NOT NULL,
    object   TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_log_object ON audit_log (object, id);
CREATE INDEX audit_log_at ON audit_log (at, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
