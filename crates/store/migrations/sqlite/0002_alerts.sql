-- Alerts from monitoring, how services group them into incidents, and silences.

ALTER TABLE services ADD COLUMN auto_resolve INTEGER NOT NULL DEFAULT 1;
-- JSON array of label names; empty: one open incident per service.
ALTER TABLE services ADD COLUMN group_by TEXT NOT NULL DEFAULT '[]';
-- NULL: an open incident takes new alerts for as long as it is open.
ALTER TABLE services ADD COLUMN group_window_secs INTEGER;

-- NULL for incidents declared by people.
ALTER TABLE incidents ADD COLUMN group_key TEXT;
CREATE INDEX incidents_open_group ON incidents (service_id, group_key, status);

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    service_id    INTEGER NOT NULL REFERENCES services (id),
    dedup_key     TEXT NOT NULL,
    status        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    source        TEXT NOT NULL,
    severity      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    labels        TEXT NOT NULL,
    details       TEXT NOT NULL,
    event_count   INTEGER NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    resolved_at   INTEGER,
    incident_id   INTEGER REFERENCES incidents (id),
    silence_id    INTEGER,
    UNIQUE (service_id, dedup_key)
);
CREATE INDEX alerts_incident ON alerts (incident_id, status);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER REFERENCES services (id),
    matchers   TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    comment    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX silences_ends ON silences (ends_at);
