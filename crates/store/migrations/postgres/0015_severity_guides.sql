-- A team's own severity guide (the API's JSON document, checked before it is stored); a team
-- without one uses the built-in guide.
CREATE TABLE severity_guides (
    team_id    BIGINT PRIMARY KEY REFERENCES teams (id),
    document   TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
