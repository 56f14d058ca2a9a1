-- The last record of the ingest journal whose events are applied, updated in the same transaction
-- as those events: after a crash, the records after it are applied again.

CREATE TABLE ingest_journal (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    applied_seq BIGINT NOT NULL
);
INSERT INTO ingest_journal (id, applied_seq) VALUES (1, 0);
