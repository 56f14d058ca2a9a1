-- Heartbeat checks: a job pings /ping/{ping_id} (or /ping/{ping_key}/{slug}) every period, or at
-- every run of a cron expression in a time zone; a grace time later a missing ping makes the
-- check down. What the pings said so far (times in milliseconds) is kept on the check; its alert
-- (dedup key heartbeat:{id}) is open while alert_open holds. A deleted check keeps its row
-- (deleted_at) so that its id, and so its alert, is never another check's.
CREATE TABLE heartbeats (
    id                INTEGER PRIMARY KEY,
    service_id        INTEGER NOT NULL REFERENCES services (id),
    name              TEXT NOT NULL,
    slug              TEXT NOT NULL,
    ping_id           TEXT NOT NULL UNIQUE,
    period_seconds    BIGINT,
    cron              TEXT,
    time_zone         TEXT NOT NULL,
    grace_seconds     BIGINT NOT NULL,
    failures_to_alert BIGINT NOT NULL,
    severity          TEXT NOT NULL,
    paused            BOOLEAN NOT NULL DEFAULT FALSE,
    last_ping_at      BIGINT,
    last_success_at   BIGINT,
    last_failure_at   BIGINT,
    failures_in_row   BIGINT NOT NULL DEFAULT 0,
    started_at        BIGINT,
    started_rid       TEXT NOT NULL DEFAULT '',
    alert_open        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    deleted_at        BIGINT
);
CREATE UNIQUE INDEX heartbeats_slug ON heartbeats (service_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX heartbeats_service ON heartbeats (service_id);

-- The last pings of each check (older ones are pruned): kind success, start, fail or log, the exit
-- status when one was given, the run id, the run time of a finish, and the request's method,
-- client address, user agent and body (up to the ping body limit).
CREATE TABLE heartbeat_pings (
    id           INTEGER PRIMARY KEY,
    heartbeat_id INTEGER NOT NULL REFERENCES heartbeats (id),
    at           BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    exit_status  BIGINT,
    rid          TEXT NOT NULL,
    duration_ms  BIGINT,
    method       TEXT NOT NULL,
    address      TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX heartbeat_pings_check ON heartbeat_pings (heartbeat_id, id);

-- The key of a service's slug ping URLs, /ping/{ping_key}/{slug}; made with its first check.
ALTER TABLE services ADD COLUMN ping_key TEXT;
CREATE UNIQUE INDEX services_ping_key ON services (ping_key) WHERE ping_key IS NOT NULL;
