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
