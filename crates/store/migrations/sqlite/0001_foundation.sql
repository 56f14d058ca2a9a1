-- Teams, users, the service catalog, incidents with their timeline, and API tokens.
-- Timestamps are milliseconds since the Unix epoch, UTC.

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL UNIQUE,
    time_zone  TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE services (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    team_id              INTEGER NOT NULL REFERENCES teams (id),
    description          TEXT NOT NULL,
    documentation        TEXT NOT NULL DEFAULT '',
    runbook              TEXT NOT NULL DEFAULT '',
    links                TEXT NOT NULL DEFAULT '[]',
    integration_key_hash TEXT NOT NULL UNIQUE,
    created_at           INTEGER NOT NULL
);

CREATE TABLE service_dependencies (
    service_id    INTEGER NOT NULL REFERENCES services (id),
    depends_on_id INTEGER NOT NULL REFERENCES services (id),
    PRIMARY KEY (service_id, depends_on_id)
);

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    service_id      INTEGER NOT NULL REFERENCES services (id),
    severity        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    assignee_id     INTEGER REFERENCES users (id),
    commander_id    INTEGER REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    mitigated_at    INTEGER,
    resolved_at     INTEGER,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, id);
CREATE INDEX incidents_service ON incidents (service_id, id);

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
