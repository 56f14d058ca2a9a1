-- Paging: contact methods, persisted escalations, durable notifications, calendar feed tokens and
-- the key that signs acknowledge/resolve links.

CREATE TABLE contact_methods (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    type       TEXT NOT NULL,
    address    TEXT NOT NULL,
    -- A webhook's signing secret; it must be usable to sign, so it cannot be stored hashed.
    secret     TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, type, address)
);

-- Where the escalation of each incident stands (the engine's `Escalation`), and which policy it
-- follows.
CREATE TABLE escalations (
    incident_id   INTEGER PRIMARY KEY REFERENCES incidents (id),
    policy_id     INTEGER NOT NULL REFERENCES escalation_policies (id),
    generation    INTEGER NOT NULL,
    pass          INTEGER NOT NULL,
    level         INTEGER NOT NULL,
    state         TEXT NOT NULL,
    next_deadline INTEGER,
    -- Grows with every write: the driver's compare-and-set, so that two replicas that decide the same
    -- step write it once.
    version       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX escalations_due ON escalations (next_deadline) WHERE next_deadline IS NOT NULL;

-- Incidents whose escalation must be brought in line with their status. Kept by triggers, so that
-- no code path that creates an incident or changes its status can forget to escalate.
CREATE TABLE escalation_pending (
    incident_id INTEGER PRIMARY KEY
);
CREATE TRIGGER incidents_escalate_insert AFTER INSERT ON incidents
BEGIN
    INSERT OR IGNORE INTO escalation_pending (incident_id) VALUES (NEW.id);
END;
CREATE TRIGGER incidents_escalate_status AFTER UPDATE OF status ON incidents
WHEN NEW.status <> OLD.status
BEGIN
    INSERT OR IGNORE INTO escalation_pending (incident_id) VALUES (NEW.id);
END;

-- One message to one contact method for one page. `page_key` is the engine's `Page::key`, so a
-- page is turned into notifications once, whatever happens to the process. Channel and address
-- are copied, so removing a contact method leaves its history readable.
CREATE TABLE notifications (
    id                INTEGER PRIMARY KEY,
    incident_id       INTEGER NOT NULL REFERENCES incidents (id),
    page_key          TEXT NOT NULL,
    user_id           INTEGER NOT NULL REFERENCES users (id),
    contact_method_id INTEGER NOT NULL,
    channel           TEXT NOT NULL,
    address           TEXT NOT NULL,
    level             INTEGER NOT NULL,
    wakes_management  INTEGER NOT NULL,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    UNIQUE (page_key, contact_method_id)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_incident ON notifications (incident_id);

-- Calendar feeds: the SHA-256 of the secret in the feed's URL.
ALTER TABLE schedules ADD COLUMN feed_token_hash TEXT;
ALTER TABLE users ADD COLUMN feed_token_hash TEXT;

-- Keys generated once per installation and shared by every replica.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
