-- Expected-outcome rules: a sentence (stored in its canonical form) saying what ought to be seen
-- of a service's business events, such as "at least 10 payment_captured per 1h". Its alert (dedup
-- key outcome:{id}) is open while alert_open holds. A deleted rule keeps its row (deleted_at) so
-- that its id, and so its alert, is never another rule's; its name is free again.
CREATE TABLE outcome_rules (
    id          INTEGER PRIMARY KEY,
    service_id  INTEGER NOT NULL REFERENCES services (id),
    name        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    alert_open  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    deleted_at  BIGINT
);
CREATE UNIQUE INDEX outcome_rules_name ON outcome_rules (service_id, name) WHERE deleted_at IS NULL;

-- Business events a service posted: when they happened as the sender said (at), how many
-- identical ones each stands for, the key that ties a ratio rule's events together, and when
-- firebreak received them. Times in milliseconds. Rules read them by service, name and time;
-- those older than any rule can need are pruned by time.
CREATE TABLE outcome_events (
    id          INTEGER PRIMARY KEY,
    service_id  INTEGER NOT NULL REFERENCES services (id),
    event       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    key         TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX outcome_events_by_name ON outcome_events (service_id, event, at);
CREATE INDEX outcome_events_at ON outcome_events (at);
