-- On-call schedules and escalation policies. Their structure (layers, levels) is kept as the
-- validated JSON specification the API accepted; the server turns it into domain types.

CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    time_zone  TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE escalation_policies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

ALTER TABLE services ADD COLUMN escalation_policy_id INTEGER REFERENCES escalation_policies (id);
