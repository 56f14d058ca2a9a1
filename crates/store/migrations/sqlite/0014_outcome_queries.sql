-- Expected-outcome rules may read an event from a Prometheus-compatible API instead of posted
-- events: a JSON object from event name to a PromQL expression giving that event's count over a
-- window written $window. '{}' reads every event from posted events.
ALTER TABLE outcome_rules ADD COLUMN queries TEXT NOT NULL DEFAULT '{}';
