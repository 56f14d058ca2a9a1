-- Golden signals per service, their recent samples (for charts) and their anomalies.

CREATE TABLE golden_signals (
    id            INTEGER PRIMARY KEY,
    service_id    INTEGER NOT NULL REFERENCES services (id),
    signal        TEXT NOT NULL,
    query         TEXT NOT NULL,
    bad_direction TEXT NOT NULL,
    step_secs     INTEGER NOT NULL,
    open_incident INTEGER NOT NULL,
    severity      TEXT NOT NULL,
    UNIQUE (service_id, signal)
);

CREATE TABLE signal_samples (
    golden_signal_id INTEGER NOT NULL REFERENCES golden_signals (id),
    at               INTEGER NOT NULL,
    value            REAL NOT NULL,
    expected         REAL NOT NULL,
    lower            REAL NOT NULL,
    upper            REAL NOT NULL,
    score            REAL NOT NULL,
    PRIMARY KEY (golden_signal_id, at)
);

CREATE TABLE anomalies (
    id               INTEGER PRIMARY KEY,
    golden_signal_id INTEGER NOT NULL REFERENCES golden_signals (id),
    service_id       INTEGER NOT NULL REFERENCES services (id),
    signal           TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    peak_score       REAL NOT NULL,
    expected         REAL NOT NULL,
    lower            REAL NOT NULL,
    upper            REAL NOT NULL,
    observed         REAL NOT NULL,
    incident_id      INTEGER REFERENCES incidents (id)
);
CREATE INDEX anomalies_service ON anomalies (service_id, started_at);
