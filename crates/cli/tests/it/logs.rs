//! What the server writes to its log when the log is a file, not a terminal.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Api, Fresh, binary, free_port};

/// Text logs written to a file carry no terminal colour codes; a server without a mail server
/// says at start that pages to email contact methods will fail.
#[tokio::test]
async fn logs_written_to_a_file_have_no_colour_codes() {
    let Fresh { dir, token, server, .. } = Fresh::start("logs.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token };
    let (status, _) = api.post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com"})).await;
    assert_eq!(status, 201);
    let (status, _) = api
        .post("/api/v1/users/Ana/contact-methods", json!({"type": "email", "address": "ana@example.com"}))
        .await;
    assert_eq!(status, 201);
    server.stop();

    let log = dir.path().join("firebreak.log");
    let port = free_port();
    let database = format!("sqlite:{}", dir.path().join("logs.db").display());
    let mut child = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &database])
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let http = reqwest::Client::new();
    while !http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("server_started"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a log file: {text:?}");
    assert!(text.contains("email_not_configured") && text.contains("contact_methods=1"), "{text}");
}

/// Tokens, passwords and session secrets never reach the log, even at `debug`, whether they are
/// right or wrong; the database keeps only hashes of tokens and sessions, and an argon2id hash of
/// the password.
#[tokio::test]
async fn secrets_never_reach_the_log_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("secrets.db").display());
    let bootstrap = crate::support::create_token(dir.path(), &database, "bootstrap");
    let log = dir.path().join("firebreak.log");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &database])
        .env("RUST_LOG", "debug")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let started = Instant::now();
    while !http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (name, password) = crate::support::operator(&url, &bootstrap, dir.path(), &database).await;
    let made: serde_json::Value = http
        .post(format!("{url}/api/v1/tokens"))
        .bearer_auth(&bootstrap)
        .json(&json!({"name": "ci", "user": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    assert_eq!(http.get(format!("{url}/api/v1/me")).bearer_auth(&token).send().await.unwrap().status(), 200);
    // The token with its last digit changed.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(http.get(format!("{url}/api/v1/me")).bearer_auth(&wrong).send().await.unwrap().status(), 401);
    // A login, with the form's double-submit token.
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let logged_in = http
        .post(format!("{url}/login"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("name", name.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let session = logged_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let secret = session.split_once('=').unwrap().1.to_owned();
    assert_eq!(
        http.get(format!("{url}/incidents")).header("cookie", &session).send().await.unwrap().status(),
        200
    );
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request_finished"), "the log has the requests: {text}");
    let stored = std::fs::read(dir.path().join("secrets.db")).unwrap();
    let wal = std::fs::read(dir.path().join("secrets.db-wal")).unwrap_or_default();
    for (what, value) in [
        ("token", &token),
        ("wrong token", &wrong),
        ("bootstrap token", &bootstrap),
        ("password", &password),
        ("session", &secret),
    ] {
        assert!(!text.contains(value.as_str()), "the {what} is in the log: {text}");
        let bytes = value.as_bytes();
        for file in [&stored, &wal] {
            assert!(
                !file.windows(bytes.len()).any(|window| window == bytes),
                "the {what} is stored as it is"
            );
        }
    }
}
