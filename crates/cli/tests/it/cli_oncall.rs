//! The on-call commands of the CLI against a real server: users and their contact methods,
//! schedules and overrides, escalation policies, and who a service pages.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::support::{Api, Fresh, binary, run};

/// Runs `firebreak ARGS`, expects success and returns its stdout.
fn ok(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = run(dir, args, envs);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `firebreak ARGS`, expects failure and returns its stderr.
fn fails(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = run(dir, args, envs);
    assert!(!output.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

/// Runs `firebreak ARGS` with `stdin` on standard input.
fn run_with_stdin(dir: &Path, args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn on_call_from_the_command_line() {
    let Fresh { dir, token, server, .. } = Fresh::start("cli-oncall.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    let (status, _) = api.post("/api/v1/teams", json!({"name": "payments"})).await;
    assert_eq!(status, 201);
    let (status, service) = api
        .post(
            "/api/v1/services",
            json!({"name": "checkout", "team": "payments", "description": "takes money"}),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    let dir = dir.path();

    // Users.
    for (name, email) in [("Ana", "ana@example.com"), ("Bo", "bo@example.com"), ("Cy", "cy@example.com")] {
        let created = ok(
            dir,
            &["user", "create", "--name", name, "--email", email, "--time-zone", "Europe/Berlin"],
            &envs,
        );
        let row = created.lines().nth(1).unwrap_or_default().split_whitespace().collect::<Vec<_>>();
        assert_eq!(row[1..], [name, email, "Europe/Berlin"], "{created}");
    }
    assert_eq!(
        ok(dir, &["user", "list"], &envs),
        "ID  NAME  EMAIL            TIME ZONE\n\
         1   Ana   ana@example.com  Europe/Berlin\n\
         2   Bo    bo@example.com   Europe/Berlin\n\
         3   Cy    cy@example.com   Europe/Berlin\n"
    );
    let stderr =
        fails(dir, &["user", "create", "--name", "Di", "--email", "nope", "--time-zone", "UTC"], &envs);
    assert_eq!(stderr, "error: invalid email address \"nope\" (HTTP 422)\n");

    // A schedule from a file: a weekly rotation handing off Monday 09:00 Berlin time.
    let spec = json!({"name": "primary", "time_zone": "Europe/Berlin",
        "layers": [{"start": "2026-03-23T08:00:00Z", "shift_length": "1w", "users": ["Ana", "Bo"]}]});
    std::fs::write(dir.join("schedule.json"), spec.to_string()).unwrap();
    let created = ok(dir, &["schedule", "create", "--file", "schedule.json"], &envs);
    assert!(created.starts_with("primary (schedule 1)\ntime zone:  Europe/Berlin\n"), "{created}");
    assert!(created.contains("1  1w shifts from 2026-03-23 08:00 UTC: Ana, Bo\n"), "{created}");
    assert_eq!(
        ok(dir, &["schedule", "list"], &envs),
        "ID  TIME ZONE      LAYERS  OVERRIDES  NAME\n1   Europe/Berlin  1       0          primary\n"
    );
    let stderr = fails(dir, &["schedule", "create", "--file", "missing.json"], &envs);
    assert!(stderr.starts_with("error: reading the schedule from missing.json: "), "{stderr}");
    std::fs::write(dir.join("typo.json"), r#"{"name": "x", "time_zone": "UTC", "layer": []}"#).unwrap();
    let stderr = fails(dir, &["schedule", "create", "--file", "typo.json"], &envs);
    assert!(
        stderr.starts_with("error: typo.json is not a valid schedule specification: unknown field `layer`")
    );

    assert_eq!(
        ok(dir, &["schedule", "oncall", "1", "--at", "2026-03-30T06:59:59Z"], &envs),
        "Ana (user 1) is on call for schedule 1 at 2026-03-30 06:59:59 UTC\n"
    );
    assert_eq!(
        ok(dir, &["schedule", "oncall", "1", "--at", "2026-03-30T07:00:00Z"], &envs),
        "Bo (user 2) is on call for schedule 1 at 2026-03-30 07:00:00 UTC\n",
        "09:00 CEST is 07:00 UTC"
    );
    assert_eq!(
        ok(dir, &["schedule", "oncall", "1", "--at", "2026-03-01T00:00:00Z"], &envs),
        "nobody is on call for schedule 1 at 2026-03-01 00:00:00 UTC\n"
    );

    // Overrides, by user name; the final shifts show them.
    let overridden = ok(
        dir,
        &[
            "schedule",
            "override",
            "1",
            "--user",
            "Cy",
            "--start",
            "2026-04-01T00:00:00Z",
            "--end",
            "2026-04-02T00:00:00Z",
        ],
        &envs,
    );
    assert!(
        overridden.ends_with(
            "Overrides (remove one with `schedule remove-override ID N`)\n  0  2026-04-01 00:00 - 2026-04-02 00:00 UTC  Cy\n"
        ),
        "{overridden}"
    );
    assert_eq!(
        ok(
            dir,
            &["schedule", "shifts", "1", "--from", "2026-03-31T00:00:00Z", "--to", "2026-04-03T00:00:00Z"],
            &envs
        ),
        "START (UTC)       END (UTC)         ON CALL\n\
         2026-03-31 00:00  2026-04-01 00:00  Bo (2)\n\
         2026-04-01 00:00  2026-04-02 00:00  Cy (3)\n\
         2026-04-02 00:00  2026-04-03 00:00  Bo (2)\n"
    );
    let shown = ok(dir, &["schedule", "show", "1", "--json"], &envs);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["overrides"][0]["user"], 3, "stored by id");
    let stderr = fails(
        dir,
        &[
            "schedule",
            "override",
            "1",
            "--user",
            "ghost",
            "--start",
            "2026-04-01T00:00:00Z",
            "--end",
            "2026-04-02T00:00:00Z",
        ],
        &envs,
    );
    assert_eq!(stderr, "error: there is no user \"ghost\" (HTTP 404)\n");
    let stderr = fails(
        dir,
        &[
            "schedule",
            "override",
            "1",
            "--user",
            "Cy",
            "--start",
            "tomorrow",
            "--end",
            "2026-04-02T00:00:00Z",
        ],
        &envs,
    );
    assert!(stderr.starts_with("error: invalid --start \"tomorrow\": "), "{stderr}");
    let stderr = fails(
        dir,
        &["schedule", "shifts", "7", "--from", "2026-03-31T00:00:00Z", "--to", "2026-04-03T00:00:00Z"],
        &envs,
    );
    assert_eq!(stderr, "error: there is no schedule 7 (HTTP 404)\n");

    // An escalation policy from standard input: the schedule first, then Cy, who may wake management.
    let policy = json!({"name": "checkout-primary", "repeat": 1, "levels": [
        {"timeout_minutes": 15, "targets": [{"type": "schedule", "id": 1}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": 3}], "wakes_management": true},
    ]});
    let output = run_with_stdin(dir, &["policy", "create", "--file", "-"], &envs, &policy.to_string());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "checkout-primary (escalation policy 1)\nrepeat:  1 more passes after the first\n\n\
         LEVEL  TIMEOUT  TARGETS\n\
         1      15 min   schedule primary (1)\n\
         2      30 min   user Cy (3), [wakes management]\n"
    );
    assert_eq!(
        ok(dir, &["policy", "list"], &envs),
        "ID  LEVELS  REPEAT  NAME\n1   2       1       checkout-primary\n"
    );
    assert!(ok(dir, &["policy", "show", "1"], &envs).contains("schedule primary (1)"));
    let stderr = fails(dir, &["policy", "show", "9"], &envs);
    assert_eq!(stderr, "error: there is no escalation policy 9 (HTTP 404)\n");

    // The service pages through it; who is on call, level by level.
    assert_eq!(
        ok(dir, &["oncall", "--service", "checkout"], &envs),
        "service checkout has no escalation policy: its incidents page nobody\n"
    );
    assert_eq!(
        ok(dir, &["service", "set-policy", "checkout", "checkout-primary"], &envs),
        "service checkout (1) now pages through escalation policy 1\n"
    );
    let on_call = ok(dir, &["oncall", "--service", "checkout", "--at", "2026-04-01T12:00:00Z"], &envs);
    assert_eq!(
        on_call,
        "service checkout, escalation policy 1, at 2026-04-01 12:00:00 UTC\n\n\
         LEVEL  PAGED AFTER  ON CALL\n\
         1      at once      Cy\n\
         2      15 min       Cy\n"
    );
    let on_call = ok(dir, &["oncall", "--service", "1", "--at", "2026-03-30T07:00:00Z", "--json"], &envs);
    let on_call: Value = serde_json::from_str(&on_call).unwrap();
    assert_eq!(on_call["levels"][0]["users"][0]["name"], "Bo");
    let stderr = fails(dir, &["service", "set-policy", "checkout", "nightly"], &envs);
    assert_eq!(stderr, "error: there is no escalation policy \"nightly\"\n");
    let stderr = fails(dir, &["service", "set-policy", "ghost", "1"], &envs);
    assert_eq!(stderr, "error: there is no service \"ghost\" (HTTP 404)\n");
    assert_eq!(
        ok(dir, &["service", "set-policy", "checkout", "none"], &envs),
        "service checkout (1) has no escalation policy now: its incidents page nobody\n"
    );
    ok(dir, &["service", "set-policy", "1", "1"], &envs);
    let (_, service) = api.get("/api/v1/services/checkout").await;
    assert_eq!(service["escalation_policy_id"], 1);
    // The list shows each service as a lookup of it does.
    let (_, services) = api.get("/api/v1/services").await;
    assert_eq!(
        services.as_array().unwrap().iter().find(|listed| listed["id"] == service["id"]),
        Some(&service)
    );

    // Contact methods: the webhook's secret is printed once and never listed.
    let stderr = fails(
        dir,
        &["user", "contact", "add", "ghost", "--type", "email", "--address", "g@example.com"],
        &envs,
    );
    assert_eq!(stderr, "error: there is no user \"ghost\" (HTTP 404)\n");
    let stderr = fails(dir, &["user", "contact", "add", "Ana", "--type", "pager", "--address", "x"], &envs);
    assert!(stderr.contains("invalid value 'pager' for '--type <TYPE>'"), "{stderr}");
    let added =
        ok(dir, &["user", "contact", "add", "Ana", "--type", "email", "--address", "ana@example.com"], &envs);
    assert!(added.contains("email") && added.ends_with("ana@example.com\n"), "{added}");
    assert!(!added.contains("secret"), "{added}");
    let added = ok(
        dir,
        &[
            "user",
            "contact",
            "add",
            "1",
            "--type",
            "webhook",
            "--address",
            "https://hooks.example.com/firebreak",
            "--json",
        ],
        &envs,
    );
    let webhook: Value = serde_json::from_str(&added).unwrap();
    let secret = webhook["secret"].as_str().expect("a webhook gets a secret").to_owned();
    let added = ok(
        dir,
        &["user", "contact", "add", "Bo", "--type", "webhook", "--address", "https://hooks.example.com/bo"],
        &envs,
    );
    assert!(added.contains("\nsigning secret: "), "{added}");
    let listed = ok(dir, &["user", "contact", "list", "Ana"], &envs);
    assert!(listed.starts_with("ID  TYPE     ADDED (UTC)       ADDRESS\n"), "{listed}");
    assert!(listed.contains("email") && listed.contains("https://hooks.example.com/firebreak"), "{listed}");
    assert!(!listed.contains(&secret), "{listed}");
    let listed = ok(dir, &["user", "contact", "list", "Ana", "--json"], &envs);
    assert!(!listed.contains(&secret) && !listed.contains("\"secret\""), "{listed}");
    let webhook_id = webhook["id"].as_i64().unwrap().to_string();
    assert_eq!(
        ok(dir, &["user", "contact", "remove", "Ana", &webhook_id], &envs),
        format!("removed contact method {webhook_id} of user Ana\n")
    );
    let listed = ok(dir, &["user", "contact", "list", "Ana"], &envs);
    assert!(!listed.contains("hooks.example.com"), "{listed}");
    let stderr = fails(dir, &["user", "contact", "remove", "Ana", &webhook_id], &envs);
    assert!(stderr.starts_with("error: ") && stderr.ends_with("(HTTP 404)\n"), "{stderr}");
    assert_eq!(ok(dir, &["user", "contact", "list", "Cy"], &envs), "no contact methods\n");

    // Teams and their members.
    let created = ok(dir, &["team", "create", "--name", "dba", "--description", "databases"], &envs);
    assert!(created.contains("dba") && created.contains("databases"), "{created}");
    assert_eq!(ok(dir, &["team", "member", "list", "dba"], &envs), "no members\n");
    ok(dir, &["team", "member", "add", "dba", "Bo"], &envs);
    ok(dir, &["team", "member", "add", "dba", "Ana"], &envs);
    let members: Value =
        serde_json::from_str(&ok(dir, &["team", "member", "list", "dba", "--json"], &envs)).unwrap();
    let names: Vec<&str> = members.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ana", "Bo"]);
    assert_eq!(ok(dir, &["team", "member", "remove", "dba", "Bo"], &envs), "removed Bo from team dba\n");
    let stderr = fails(dir, &["team", "member", "add", "dba", "ghost"], &envs);
    assert!(stderr.starts_with("error: ") && stderr.ends_with("(HTTP 404)\n"), "{stderr}");
    assert!(ok(dir, &["team", "list"], &envs).contains("dba"));
    server.stop();
}

/// `show` names what it refers to: a team target by the team's name (not the schedule with the
/// same id), an incident's service and people, a service's dependencies.
#[tokio::test]
async fn show_commands_print_names_not_ids() {
    let Fresh { dir, token, server, .. } = Fresh::start("cli-names.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    api.post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com"})).await;
    api.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let (status, _) = api
        .post(
            "/api/v1/services",
            json!({"name": "ledger", "team": "payments", "description": "books", "dependencies": ["checkout"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = api
        .post(
            "/api/v1/schedules",
            json!({"name": "primary", "time_zone": "UTC",
                   "layers": [{"start": "2026-03-23T08:00:00Z", "shift_length": "1w", "users": ["Ana"]}]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = api
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "all-hands", "levels": [{"timeout_minutes": 5, "targets": [{"type": "team", "id": 1}]}]}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, incident) = api.post("/api/v1/incidents", json!({"title": "slow", "service": "checkout"})).await;
    let id = incident["id"].as_i64().or(incident["incident"]["id"].as_i64()).unwrap();
    let (status, _) = api.post(&format!("/api/v1/incidents/{id}/assign"), json!({"user": "Ana"})).await;
    assert_eq!(status, 200);
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    let dir = dir.path();

    let policy = ok(dir, &["policy", "show", "1"], &envs);
    assert!(policy.contains("team payments (1)"), "{policy}");
    let shown = ok(dir, &["incident", "show", &id.to_string()], &envs);
    assert!(shown.contains("service:    checkout\n"), "{shown}");
    assert!(shown.contains("assignee:   Ana\n"), "{shown}");
    assert!(shown.contains("commander:  -\n"), "{shown}");
    let ledger = ok(dir, &["service", "show", "ledger"], &envs);
    assert!(ledger.contains("depends on:   checkout\n"), "{ledger}");
}

/// Schedules and policies are edited and deleted from the command line, and a service's key is
/// rotated; what is in use says so.
#[tokio::test]
async fn editing_from_the_command_line() {
    let Fresh { dir, token, server, .. } = Fresh::start("cli-editing.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    api.post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com"})).await;
    api.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await;
    api.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    let dir = dir.path();
    let spec = json!({"name": "primary", "time_zone": "UTC",
        "layers": [{"start": "2026-03-23T08:00:00Z", "shift_length": "1w", "users": ["Ana"]}],
        "overrides": [{"user": "Bo", "start": "2026-04-01T00:00:00Z", "end": "2026-04-02T00:00:00Z"}]});
    let output = run_with_stdin(dir, &["schedule", "create", "--file", "-"], &envs, &spec.to_string());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let change = json!({"name": "day", "layers": [{"start": "2026-03-23T08:00:00Z", "shift_length": "1d", "users": ["Ana", "Bo"]}]});
    let output = run_with_stdin(dir, &["schedule", "edit", "1", "--file", "-"], &envs, &change.to_string());
    let edited = String::from_utf8(output.stdout).unwrap();
    assert!(edited.starts_with("day (schedule 1)"), "{edited}");
    let removed = ok(dir, &["schedule", "remove-override", "1", "0"], &envs);
    assert!(removed.ends_with("Overrides: none\n"), "{removed}");

    let policy = json!({"name": "default", "levels": [{"timeout_minutes": 5, "targets": [{"type": "schedule", "id": 1}]}]});
    let output = run_with_stdin(dir, &["policy", "create", "--file", "-"], &envs, &policy.to_string());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = fails(dir, &["schedule", "delete", "1"], &envs);
    assert_eq!(
        stderr,
        "error: schedule day is a target of escalation policies default (1): take it out of them first (HTTP 409)\n"
    );
    let change =
        json!({"repeat": 1, "levels": [{"timeout_minutes": 5, "targets": [{"type": "user", "id": 2}]}]});
    let output = run_with_stdin(dir, &["policy", "edit", "1", "--file", "-"], &envs, &change.to_string());
    let edited = String::from_utf8(output.stdout).unwrap();
    assert!(
        edited.contains("repeat:  1 more passes after the first") && edited.contains("user Bo (2)"),
        "{edited}"
    );
    assert_eq!(ok(dir, &["schedule", "delete", "1"], &envs), "schedule 1 deleted\n");
    ok(dir, &["service", "set-policy", "checkout", "default"], &envs);
    let stderr = fails(dir, &["policy", "delete", "1"], &envs);
    assert!(stderr.contains("is used by services checkout (1)"), "{stderr}");
    ok(dir, &["service", "set-policy", "checkout", "none"], &envs);
    assert_eq!(ok(dir, &["policy", "delete", "1"], &envs), "escalation policy 1 deleted\n");

    let key = ok(dir, &["service", "rotate-key", "checkout"], &envs);
    assert!(key.starts_with("fbk_") && key.lines().count() == 1, "{key}");
}
