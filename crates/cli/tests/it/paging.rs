//! Paging end to end: an event sent to `/v2/enqueue` becomes a real email through a real SMTP
//! server (aiosmtpd, over STARTTLS with a certificate the test makes) and a signed webhook to a local
//! receiver; the acknowledge link in the page acknowledges the incident and stops the escalation.
//!
//! Needs Debian's `python3-aiosmtpd` and `openssl`; without them the test says it was skipped,
//! unless `FIREBREAK_SMTP_TESTS=required`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Api, Receiver, Server, create_token, skipped};

const PYTHON: &str = "/usr/bin/python3";

/// The SMTP server, and its lines of JSON (one per message after the first, which says it is ready).
struct Smtp {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    port: u16,
}

async fn smtp_server(dir: &Path) -> Option<Smtp> {
    let required = std::env::var("FIREBREAK_SMTP_TESTS").is_ok_and(|v| v == "required");
    let available = std::process::Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(!required, "FIREBREAK_SMTP_TESTS=required but {PYTHON} cannot import aiosmtpd");
        skipped("paging end to end skipped: python3-aiosmtpd is not installed");
        return None;
    }
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        // Trusted directly, so a leaf rather than a CA: rustls refuses a CA certificate as a server's.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl could not make a certificate");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../notify/tests/smtp_server.py");
    let mut child = tokio::process::Command::new(PYTHON)
        .arg(script)
        .args(["--mode", "starttls", "--cert"])
        .arg(dir.join("cert.pem"))
        .arg("--key")
        .arg(dir.join("key.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    let port = ready["port"].as_u64().unwrap() as u16;
    Some(Smtp { _child: child, lines, port })
}

#[tokio::test]
async fn an_event_pages_by_email_and_signed_webhook_and_the_link_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut smtp) = smtp_server(dir.path()).await else { return };
    let receiver = Receiver::start().await;
    let database = format!("sqlite:{}", dir.path().join("paging.db").display());
    let token = create_token(dir.path(), &database, "ops");
    let smtp_url = format!("smtp://127.0.0.1:{}?tls=starttls", smtp.port);
    let ca_file = dir.path().join("cert.pem").display().to_string();
    let server = Server::start_with(
        dir.path(),
        &database,
        &["--smtp-url", &smtp_url, "--smtp-from", "pager@firebreak.test", "--smtp-ca-file", &ca_file],
    )
    .await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token };

    let (_, team) = api.post("/api/v1/teams", json!({"name": "payments"})).await;
    let (_, service) = api
        .post(
            "/api/v1/services",
            json!({"name": "checkout", "team": team["id"], "description": "takes money"}),
        )
        .await;
    let key = service["integration_key"].as_str().unwrap().to_owned();
    let (_, ana) = api.post("/api/v1/users", json!({"name": "ana", "email": "ana@example.com"})).await;
    let (_, ben) = api.post("/api/v1/users", json!({"name": "ben", "email": "ben@example.com"})).await;
    let (status, mail) = api
        .post(
            &format!("/api/v1/users/{}/contact-methods", ana["id"]),
            json!({"type": "email", "address": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{mail}");
    assert!(mail.get("secret").is_none(), "only webhooks have a secret");
    let (status, hook) = api
        .post(
            &format!("/api/v1/users/{}/contact-methods", ana["id"]),
            json!({"type": "webhook", "address": format!("{}/ana", receiver.url)}),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let (status, listed) = api.get(&format!("/api/v1/users/{}/contact-methods", ana["id"])).await;
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 2));
    assert!(listed.to_string().find(&secret).is_none(), "the secret is shown once");
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/contact-methods", ben["id"]),
            json!({"type": "webhook", "address": format!("{}/ben", receiver.url)}),
        )
        .await;
    assert_eq!(status, 201);
    for (body, expected) in [
        (json!({"type": "pigeon", "address": "x"}), "pigeon"),
        (json!({"type": "email", "address": "not an address"}), "address"),
        (json!({"type": "webhook", "address": "ftp://example.com"}), "http"),
    ] {
        let (status, problem) = api.post(&format!("/api/v1/users/{}/contact-methods", ana["id"]), body).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains(expected), "{problem}");
    }
    let (status, policy) = api
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "checkout", "repeat": 0, "levels": [
                {"timeout_minutes": 1, "targets": [{"type": "user", "id": ana["id"]}]},
                {"timeout_minutes": 1, "targets": [{"type": "user", "id": ben["id"]}]},
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/services/{}", service["id"]),
            Some(json!({"escalation_policy": policy["id"]})),
        )
        .await;
    assert_eq!(status, 200);

    let sent = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.url))
        .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": "pay-1",
            "payload": {"summary": "Payment errors above 5%", "source": "prod", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);

    // The signed webhook.
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "one webhook, to ana");
    let webhook = &received[0];
    assert_eq!(webhook.path, "/ana");
    let timestamp: i64 = webhook.header("x-firebreak-timestamp").unwrap().parse().unwrap();
    let signature = webhook.header("x-firebreak-signature").unwrap();
    assert!(firebreak_notify::verify(&secret, timestamp, &webhook.body, signature), "the signature verifies");
    assert!(!firebreak_notify::verify("whsec_wrong", timestamp, &webhook.body, signature));
    let payload = webhook.json();
    assert_eq!(payload["incident"]["severity"], "SEV1");
    assert_eq!(payload["incident"]["service"], "checkout");
    assert_eq!(payload["incident"]["title"], "Payment errors above 5%");
    let incident_id = payload["incident"]["id"].as_i64().unwrap();
    let ack = payload["links"]["acknowledge"].as_str().unwrap().to_owned();
    let resolve = payload["links"]["resolve"].as_str().unwrap().to_owned();
    assert!(ack.starts_with(&format!("{}/act/", server.url)), "{ack}");

    // The email, through STARTTLS.
    let line = tokio::time::timeout(Duration::from_secs(20), smtp.lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let email: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(email["rcpt_tos"], json!(["ana@example.com"]));
    assert_eq!(email["mail_from"], "pager@firebreak.test");
    let subject = email["headers"]["subject"].as_str().unwrap();
    assert!(subject.contains("SEV1") && subject.contains("checkout"), "{subject}");
    let body = email["body"].as_str().unwrap();
    assert!(body.contains("/act/") && body.contains("Payment errors above 5%"), "{body}");

    // The page list and the timeline say who was paged, how, and that it was delivered.
    let notifications = wait_until(&api, &format!("/api/v1/incidents/{incident_id}/notifications"), |n| {
        n.as_array().is_some_and(|all| all.len() == 2 && all.iter().all(|n| n["status"] == "delivered"))
    })
    .await;
    assert!(!notifications.to_string().contains("/ana"), "webhook URLs are not shown: {notifications}");
    let (_, detail) = api.get(&format!("/api/v1/incidents/{incident_id}")).await;
    let summaries: Vec<&str> =
        detail["timeline"].as_array().unwrap().iter().filter_map(|e| e["summary"].as_str()).collect();
    assert!(summaries.contains(&"paged ana by email (level 1), delivered"), "{summaries:?}");
    assert!(summaries.contains(&"paged ana by webhook (level 1), delivered"), "{summaries:?}");

    // A link that was tampered with does nothing.
    let http = reqwest::Client::new();
    let forged = format!("{}0", &ack[..ack.len() - 1]);
    let forged = if forged == ack { format!("{}1", &ack[..ack.len() - 1]) } else { forged };
    assert_eq!(http.post(&forged).send().await.unwrap().status(), 404);
    // Opening the link shows what it does without doing it; the button does it, without logging in.
    let page = http.get(&ack).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Acknowledge incident"));
    let (_, escalation) = api.get(&format!("/api/v1/incidents/{incident_id}/escalation")).await;
    assert_eq!(escalation["state"], "active");
    let done = http.post(&ack).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("acknowledged"));
    let (_, incident) = api.get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["status"], "acknowledged");
    let escalation = wait_until(&api, &format!("/api/v1/incidents/{incident_id}/escalation"), |e| {
        e["state"] == "acknowledged"
    })
    .await;
    assert_eq!(escalation["next_deadline"], Value::Null, "escalation stopped: ben is never paged");
    // Used twice, the link says where things stand; the resolve link resolves.
    assert!(http.post(&ack).send().await.unwrap().text().await.unwrap().contains("already acknowledged"));
    assert_eq!(http.post(&resolve).send().await.unwrap().status(), 200);
    let (_, incident) = api.get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["status"], "resolved");
    assert_eq!(receiver.received.lock().unwrap().len(), 1, "nobody else was paged");
    server.stop();
}

/// GETs `path` until `done` holds for the answer, for up to 20 seconds.
async fn wait_until(api: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = api.get(path).await;
        if status == 200 && done(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
