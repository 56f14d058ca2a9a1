//! A job pinging with `curl` drives a heartbeat check through new → up → down (a failure) → up →
//! late → down (a missed run) → up on a real server whose clock runs 30 times fast, opening and
//! resolving `silent` incidents; and the CLI creates, lists, shows, pauses and resumes checks.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Api, Server, create_token, run};

/// Longest wait for a state a check should reach.
const WAIT: Duration = Duration::from_secs(20);

fn job(url: &str, command: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/heartbeat_job.sh");
    let output = Command::new("bash").arg(script).arg(url).args(command).output().unwrap();
    assert!(output.status.success(), "the job's pings failed: {}", String::from_utf8_lossy(&output.stderr));
}

async fn check(api: &Api, id: i64) -> Value {
    let (status, check) = api.get(&format!("/api/v1/heartbeats/{id}")).await;
    assert_eq!(status, 200, "{check}");
    check
}

/// Waits until the check's status is `status`, and returns how long that took.
async fn reaches(api: &Api, id: i64, status: &str) -> Duration {
    let started = Instant::now();
    loop {
        let check = check(api, id).await;
        if check["status"] == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < WAIT, "the check did not become {status}: {check}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the silent incidents are, by status, `statuses`.
async fn incidents(api: &Api, statuses: &[&str]) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (_, page) = api.get("/api/v1/incidents?status=all&kind=silent").await;
        let list = page["incidents"].as_array().unwrap().clone();
        let mut seen: Vec<&str> = list.iter().map(|i| i["status"].as_str().unwrap()).collect();
        seen.sort_unstable();
        let mut want = statuses.to_vec();
        want.sort_unstable();
        if seen == want {
            return list;
        }
        assert!(started.elapsed() < WAIT, "silent incidents are {seen:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_curl_job_drives_a_check_through_its_states_and_its_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("hb.db").display());
    let token = create_token(dir.path(), &database, "ops");
    let origin = jiff::Timestamp::now().to_string();
    let envs = [("FIREBREAK_TIME_SCALE", "30"), ("FIREBREAK_TIME_ORIGIN", origin.as_str())];
    let server = Server::start_env(dir.path(), &database, &[], &envs).await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    api.post("/api/v1/teams", json!({"name": "ops"})).await;
    let (status, _) =
        api.post("/api/v1/services", json!({"name": "backups", "team": "ops", "description": "jobs"})).await;
    assert_eq!(status, 201);

    // Made with the CLI: a ping a minute (2 s here), two minutes' grace (4 s).
    let args = [
        "heartbeat",
        "create",
        "--service",
        "backups",
        "--name",
        "nightly",
        "--every",
        "1m",
        "--grace",
        "2m",
        "--json",
    ];
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    let output = run(dir.path(), &args, &envs);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (id, url) = (created["id"].as_i64().unwrap(), created["ping_url"].as_str().unwrap().to_owned());
    assert_eq!(created["status"], "new");

    job(&url, &["echo", "backed up 12 GB"]);
    reaches(&api, id, "up").await;
    let pings = check(&api, id).await["pings"].clone();
    assert_eq!((pings[0]["kind"].as_str(), pings[0]["exit_status"].as_i64()), (Some("success"), Some(0)));
    assert_eq!(pings[0]["body"], "backed up 12 GB");
    assert!(pings[0]["duration_ms"].is_i64(), "the run is timed: {pings}");
    assert_eq!(pings[1]["kind"], "start");

    // A failing run: down at once, and a silent incident.
    job(&url, &["sh", "-c", "echo disk full; exit 3"]);
    reaches(&api, id, "down").await;
    let open = incidents(&api, &["triggered"]).await;
    assert_eq!(open[0]["title"], "Heartbeat nightly failed");
    job(&url, &["true"]);
    reaches(&api, id, "up").await;
    incidents(&api, &["resolved"]).await;

    // A missed run: late after the period, down after the grace time, up with the next run.
    reaches(&api, id, "late").await;
    reaches(&api, id, "down").await;
    let all = incidents(&api, &["resolved", "triggered"]).await;
    assert!(
        all.iter()
            .any(|i| i["title"].as_str().unwrap().starts_with("Heartbeat nightly is down: no ping since")),
        "{all:?}"
    );
    job(&url, &["true"]);
    reaches(&api, id, "up").await;
    incidents(&api, &["resolved", "resolved"]).await;

    // The CLI lists, shows, pauses and resumes.
    let output = run(dir.path(), &["heartbeat", "list"], &envs);
    let listed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(listed.contains("nightly") && listed.contains("every 1m +2m"), "{listed}");
    let output = run(dir.path(), &["heartbeat", "pause", &id.to_string()], &envs);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(": paused"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(check(&api, id).await["status"], "paused");
    incidents(&api, &["resolved", "resolved"]).await;
    let output = run(dir.path(), &["heartbeat", "resume", &id.to_string()], &envs);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(": up"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = run(dir.path(), &["heartbeat", "show", &id.to_string()], &envs);
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(shown.contains(&url) && shown.contains("backed up 12 GB"), "{shown}");
    server.stop();
}
