-- Who belongs to a team: an escalation level that targets a team pages every member.

CREATE TABLE team_members (
    team_id  INTEGER NOT NULL REFERENCES teams (id),
    user_id  INTEGER NOT NULL REFERENCES users (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);
