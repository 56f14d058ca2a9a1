//! The contract walk: team, service, declare, acknowledge, mitigate, resolve, notes, silences and
//! expected-outcome rules, through the HTTP API and the CLI, on SQLite and PostgreSQL, with a
//! restart in the middle.

use serde_json::{Value, json};

use crate::support::{Api, Server, create_token, run};

fn timeline(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| format!("{} {}", entry["actor"].as_str().unwrap(), entry["summary"].as_str().unwrap()))
        .collect()
}

async fn walk(database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let token = create_token(dir.path(), database, "ana");
    let server = Server::start(dir.path(), database).await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };

    let (status, team) = api.post("/api/v1/teams", json!({"name": "payments"})).await;
    assert_eq!(status, 201, "{team}");
    let (status, service) = api
        .post(
            "/api/v1/services",
            json!({"name": "checkout", "team": "payments", "description": "takes money"}),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert!(service["id"].as_i64().unwrap() > 0);
    assert!(service["integration_key"].as_str().unwrap().starts_with("fbk_"));
    assert_eq!(service["team_id"], team["id"]);

    let (status, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "card payments fail", "service": service["id"], "severity": "SEV1"}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    assert_eq!(incident["status"], "triggered");

    let (status, acked) = api.post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({})).await;
    assert_eq!((status, acked["status"].as_str().unwrap()), (200, "acknowledged"));
    let (status, problem) = api.post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(
        problem["detail"],
        "cannot acknowledge an incident that is acknowledged; it is already acknowledged"
    );
    let (status, _) =
        api.post(&format!("/api/v1/incidents/{id}/notes"), json!({"text": "rolled back 1.4.2"})).await;
    assert_eq!(status, 201);

    // Restart: everything stored survives.
    server.stop();
    let server = Server::start(dir.path(), database).await;
    let api = Api { url: server.url.clone(), ..api };

    let (status, page) = api.get("/api/v1/incidents?status=acknowledged").await;
    assert_eq!(status, 200);
    assert_eq!(page["incidents"][0]["id"], id);
    let (_, page) = api.get("/api/v1/incidents?status=resolved").await;
    assert_eq!(page["incidents"], json!([]));

    // The CLI does the rest.
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    for args in [
        vec!["incident", "mitigate", &id.to_string()],
        vec!["incident", "note", &id.to_string(), "impact over"],
        vec!["incident", "resolve", &id.to_string()],
    ] {
        let output = run(dir.path(), &args, &envs);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let output = run(dir.path(), &["incident", "list", "--status", "resolved"], &envs);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("ID  SEV   STATUS    SERVICE   DECLARED (UTC)    TITLE\n"), "{stdout}");
    assert!(stdout.contains("SEV1  resolved  checkout"), "{stdout}");

    // Silences from the command line: created, listed, ended.
    let silence = |args: &[&str]| {
        let output = run(dir.path(), &[&["silence"], args].concat(), &envs);
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (ok, stdout, stderr) = silence(&[
        "create",
        "--matcher",
        "severity=~warn.*",
        "--matcher",
        "source!=db-1",
        "--service",
        "checkout",
        "--duration",
        "2h",
        "--comment",
        "deploy",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("ID  SERVICE   ENDS (UTC)        BY   MATCHERS\n"), "{stdout}");
    assert!(
        stdout.contains("  checkout  ") && stdout.ends_with("  ana  severity=~\"warn.*\" source!=\"db-1\"\n"),
        "{stdout}"
    );
    let silence_id = stdout.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert_eq!(silence(&["list"]).1, stdout);
    let (ok, _, stderr) = silence(&["create", "--matcher", "severity"]);
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: invalid matcher \"severity\"; expected name=value, name!=value, name=~regex or name!~regex (HTTP 422)\n"
    );
    assert!(silence(&["expire", &silence_id]).0);
    assert_eq!(silence(&["list"]).1, "no silences\n");

    // Expected outcomes from the command line: created, listed, shown, refused, deleted.
    let outcome = |args: &[&str]| {
        let output = run(dir.path(), &[&["outcome"], args].concat(), &envs);
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let rule = "at least 10 Payment_Captured per 1h on weekdays in Europe/Berlin";
    let (ok, stdout, stderr) = outcome(&[
        "create",
        "--service",
        "checkout",
        "--name",
        "captures",
        "--rule",
        rule,
        "--severity",
        "sev2",
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let rule_id = lines[0].split_whitespace().nth(2).unwrap().to_owned();
    assert_eq!(lines[0], format!("outcome rule {rule_id} \"captures\" of checkout, SEV2"), "{stdout}");
    assert_eq!(
        lines[1..4],
        [
            "at least 10 payment_captured per 1h on weekdays in Europe/Berlin",
            "status:   quiet",
            "expected: at least 10 payment_captured per 1h (weekdays, Europe/Berlin)",
        ]
    );
    assert!(lines[4].starts_with("why:      too new: judged from "), "{stdout}");
    let (ok, stdout, _) = outcome(&["list", "--service", "checkout"]);
    assert!(ok);
    assert_eq!(
        stdout,
        format!(
            "ID  SERVICE   NAME      STATUS  RULE\n{rule_id:<2}  checkout  captures  quiet   \
             at least 10 payment_captured per 1h on weekdays in Europe/Berlin\n"
        )
    );
    let (ok, stdout, _) = outcome(&["show", &rule_id]);
    assert!(ok);
    assert!(
        stdout.ends_with("\nEVENT             LAST HOUR  LAST DAY  LAST (UTC)\npayment_captured  0          0         never\n"),
        "{stdout}"
    );
    let (ok, _, stderr) = outcome(&[
        "create",
        "--service",
        "checkout",
        "--name",
        "x",
        "--rule",
        "at least 10 payment_captured every 1h",
    ]);
    assert!(!ok);
    assert_eq!(stderr, "error: rule: word 5: expected \"per\", found \"every\" (HTTP 422)\n");
    let (ok, stdout, _) = outcome(&["delete", &rule_id]);
    assert!(ok);
    assert_eq!(stdout, format!("outcome rule {rule_id} deleted\n"));
    assert_eq!(outcome(&["list"]).1, "no outcome rules\n");

    let output = run(dir.path(), &["incident", "resolve", &id.to_string()], &envs);
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot resolve an incident that is resolved; it is already resolved (HTTP 409)\n"
    );
    let output = run(dir.path(), &["service", "show", "checkout", "--json"], &envs);
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["description"], "takes money");

    let (_, detail) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(detail["status"], "resolved");
    assert_eq!(
        timeline(&detail),
        [
            "ana declared SEV1: card payments fail",
            "ana acknowledged",
            "ana rolled back 1.4.2",
            "ana mitigated",
            "ana impact over",
            "ana resolved",
        ]
    );
    server.stop();
}

#[tokio::test]
async fn contract_walk_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    walk(&format!("sqlite:{}", dir.path().join("walk.db").display())).await;
}

#[tokio::test]
async fn contract_walk_on_postgres() {
    let Some(url) = firebreak_store::testing::fresh_postgres_url("contract_walk_on_postgres").await.unwrap()
    else {
        return;
    };
    walk(&url).await;
}
