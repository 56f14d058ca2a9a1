//! The severity guide from the CLI: show a team's guide, refuse a guide with a bad rule naming it,
//! and assess an incident with flags, which sets its severity.

use std::io::Write;

use serde_json::json;

use crate::support::{Api, Fresh, run};

#[tokio::test]
async fn the_cli_shows_sets_and_assesses() {
    let Fresh { server, token, database: _, dir } = Fresh::start("guides.db", "ops").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    api.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let (_, incident) =
        api.post("/api/v1/incidents", json!({"title": "cards fail", "service": "checkout"})).await;
    let id = incident["id"].as_i64().unwrap().to_string();
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];

    let shown = run(dir.path(), &["guide", "show", "payments"], &envs);
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(text.starts_with("severity guide (built-in)") && text.contains("customers_affected"), "{text}");

    let mut file = std::fs::File::create(dir.path().join("guide.json")).unwrap();
    let bad = json!({"questions": [{"id": "can_pay", "text": "Can customers pay?", "answers": ["yes", "no"]}],
                     "rules": [{"when": {"can_pay": ["maybe"]}, "severity": "SEV1", "reason": "nobody pays"}]});
    file.write_all(bad.to_string().as_bytes()).unwrap();
    let refused = run(dir.path(), &["guide", "set", "payments", "--file", "guide.json"], &envs);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(said.contains("rule 1: question \"can_pay\" has no answer \"maybe\""), "{said}");

    let args = [
        "incident",
        "assess",
        &id,
        "--answer",
        "customers_affected=many",
        "--answer",
        "workaround_exists=no",
    ];
    let assessed = run(dir.path(), &args, &envs);
    let text = String::from_utf8_lossy(&assessed.stdout).into_owned();
    assert!(assessed.status.success(), "{}", String::from_utf8_lossy(&assessed.stderr));
    assert!(text.starts_with(&format!("incident {id} is SEV2")), "{text}");
    assert_eq!(api.get(&format!("/api/v1/incidents/{id}")).await.1["severity"], "SEV2");
    let without = run(dir.path(), &["incident", "assess", &id], &envs);
    assert!(!without.status.success(), "without a terminal, answers must be given");
    server.stop();
}
