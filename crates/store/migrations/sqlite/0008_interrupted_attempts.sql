-- How many attempts of a notification were claimed and never recorded (the replica making them
-- stopped): such an attempt may have reached its receiver, so a later attempt that does not send
-- records the outcome as unknown rather than failed.
ALTER TABLE notifications ADD COLUMN interrupted BIGINT NOT NULL DEFAULT 0;
