-- What an alert's last trigger carried besides its text: its links, as a JSON array of
-- {"title", "url"}, and when the sender says it happened (milliseconds; NULL when it did not say).
ALTER TABLE alerts ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN occurred_at BIGINT;
