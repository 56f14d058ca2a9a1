-- Deleting teams, users and services keeps the history that names them: the row stays, marked
-- deleted (milliseconds), renamed so that its name can be used again, and left out of every list
-- and lookup by name or id.
ALTER TABLE teams ADD COLUMN deleted_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
ALTER TABLE services ADD COLUMN deleted_at BIGINT;

-- How a person wants to be paged: each rule sends to one of their contact methods, a delay after
-- the page, for pages of one urgency (high: SEV1 and SEV2; low: SEV3 and SEV4), at any hour or only
-- by day (08:00 to 20:00 in the person's time zone). A person without rules gets every contact
-- method at once.
CREATE TABLE notification_rules (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id),
    contact_method_id INTEGER NOT NULL REFERENCES contact_methods (id),
    urgency           TEXT NOT NULL,
    delay_minutes     BIGINT NOT NULL,
    hours             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    UNIQUE (contact_method_id, urgency, delay_minutes)
);
CREATE INDEX notification_rules_user ON notification_rules (user_id);

-- When a snoozed acknowledgement runs out and the incident is triggered again (milliseconds).
ALTER TABLE incidents ADD COLUMN snoozed_until BIGINT;

-- The unit of a golden signal's values (`s`, `req/s`, `%`), for charts; empty when unsaid.
ALTER TABLE golden_signals ADD COLUMN unit TEXT NOT NULL DEFAULT '';

-- A follow-up tells someone who was paged what became of the incident ("acknowledged by Bo"); it
-- is sent whatever the incident's status. NULL for a page.
ALTER TABLE notifications ADD COLUMN follow_up TEXT;
