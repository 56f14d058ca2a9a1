//! Slow, idle and malformed clients, on real connections: they cannot keep others out, a body that
//! never comes or is declared too large is refused, and what HTTP itself refuses is answered with
//! a problem document.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use firebreak_server::Limits;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// How long a request that must not wait for anything may take.
const PROMPTLY: Duration = Duration::from_secs(1);

/// Sends `request` on a new connection and reads the answer until the server closes the
/// connection or the answer's declared body has arrived; gives up after `within`.
async fn exchange(
    address: SocketAddr,
    request: &[u8],
    within: Duration,
) -> Result<(u16, String, String), String> {
    let attempt = async {
        let mut stream = TcpStream::connect(address).await.map_err(|err| err.to_string())?;
        stream.write_all(request).await.map_err(|err| err.to_string())?;
        let mut answer = Vec::new();
        let mut buffer = [0; 8192];
        loop {
            let read = stream.read(&mut buffer).await.map_err(|err| err.to_string())?;
            answer.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned)
                    })
                    .and_then(|length| length.trim().parse::<usize>().ok());
                if read == 0 || length.is_some_and(|length| body.len() >= length) {
                    let status = head.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
                    return Ok((status, head.to_owned(), body.to_owned()));
                }
            }
            if read == 0 {
                return Err(format!("closed without an answer: {text:?}"));
            }
        }
    };
    tokio::time::timeout(within, attempt).await.map_err(|_| format!("no answer within {within:?}"))?
}

fn event(key: &str) -> String {
    json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db-1", "severity": "critical"}})
    .to_string()
}

fn post(path: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: firebreak\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn integration_key(app: &TestApp) -> String {
    assert_eq!(app.post("/api/v1/teams", json!({"name": "db"})).await.0, 201);
    let (status, service) = app
        .post("/api/v1/services", json!({"name": "ledger", "team": "db", "description": "the ledger"}))
        .await;
    assert_eq!(status, 201, "{service}");
    service["integration_key"].as_str().unwrap().to_owned()
}

/// More idle connections than the server serves at once, and one that sent half a request, do
/// not keep out a health check or an alert: the longest idle connections are closed to admit new
/// ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_keep_no_one_out() {
    let app = TestApp::new().await;
    let key = integration_key(&app).await;
    let (address, _stop) = app.listen(Limits::default()).await;

    let mut idle = Vec::new();
    for _ in 0..firebreak_server::CONNECTIONS_MAX + 76 {
        idle.push(TcpStream::connect(address).await.unwrap());
    }
    let mut half_sent = TcpStream::connect(address).await.unwrap();
    half_sent.write_all(b"POST /v2/enqueue HTTP/1.1\r\nHost: firebreak\r\nContent-Ty").await.unwrap();

    let started = Instant::now();
    let (status, _, body) =
        exchange(address, b"GET /healthz HTTP/1.1\r\nHost: firebreak\r\n\r\n", PROMPTLY).await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _, body) =
        exchange(address, &post("/v2/enqueue", "application/json", &event(&key)), PROMPTLY).await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert!(started.elapsed() < 2 * PROMPTLY);
    drop(idle);
    app.stop().await;
}

/// A connection that sends nothing, or stops halfway through a request's head, is closed after
/// the idle timeout; so is a kept-alive connection that sends no next request.
#[tokio::test]
async fn idle_connections_are_closed() {
    let app = TestApp::new().await;
    let limits = Limits { idle_timeout: Duration::from_millis(300), ..Limits::default() };
    let (address, _stop) = app.listen(limits).await;
    let closed_within = |mut stream: TcpStream| async move {
        let mut buffer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await.is_ok()
    };
    assert!(closed_within(TcpStream::connect(address).await.unwrap()).await);
    let mut half = TcpStream::connect(address).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    assert!(closed_within(half).await);
    let mut kept = TcpStream::connect(address).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: firebreak\r\n\r\n").await.unwrap();
    let mut answer = [0; 1024];
    let read = kept.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(kept).await);
    app.stop().await;
}

/// A body declared larger than the limit is refused at once, before any of it is read; a body that
/// does not arrive in time is refused with a `408`.
#[tokio::test]
async fn bodies_too_large_or_too_slow_are_refused() {
    let app = TestApp::new().await;
    let key = integration_key(&app).await;
    let limits = Limits { body_timeout: Duration::from_millis(500), ..Limits::default() };
    let (address, _stop) = app.listen(limits).await;

    for path in ["/v2/enqueue", "/api/v1/ingest/alertmanager/x", "/api/v1/teams"] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: firebreak\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n"
        );
        let (status, head, body) = exchange(address, request.as_bytes(), PROMPTLY).await.unwrap();
        assert_eq!(status, 413, "{path}: {head}\n{body}");
        assert!(head.to_ascii_lowercase().contains("connection: close"), "{path}: {head}");
        assert!(body.contains("larger than the limit"), "{path}: {body}");
    }

    // A chunk far larger than the limit, announced and never sent; a body of which half arrives.
    let chunked = b"POST /v2/enqueue HTTP/1.1\r\nHost: firebreak\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\nfffffffffff\r\n{\"rou";
    let (status, _, body) = exchange(address, chunked, 4 * PROMPTLY).await.unwrap();
    assert_eq!(status, 408, "{body}");
    let half = format!(
        "POST /api/v1/ingest/alertmanager/{key} HTTP/1.1\r\nHost: firebreak\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"alerts\""
    );
    let (status, head, body) = exchange(address, half.as_bytes(), 4 * PROMPTLY).await.unwrap();
    assert_eq!(status, 408, "{body}");
    assert!(head.contains("application/problem+json"), "{head}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["type"], "https://firebreak.dev/problems/body-timed-out");
    app.stop().await;
}

/// What HTTP refuses before any handler sees it is answered with a problem document naming the
/// problem, as every other error is.
#[tokio::test]
async fn requests_that_http_refuses_get_problem_documents() {
    let app = TestApp::new().await;
    let (address, _stop) = app.listen(Limits::default()).await;
    let many_headers: String = (0..120).map(|n| format!("X-Header-{n}: y\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"GET /api/v1/te\x01ams HTTP/1.1\r\nHost: firebreak\r\n\r\n".to_vec(), 400, "malformed-request"),
        (b"GET /\xff HTTP/1.1\r\nHost: firebreak\r\n\r\n".to_vec(), 400, "malformed-request"),
        (
            format!("GET /healthz?{} HTTP/1.1\r\nHost: firebreak\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
            "uri-too-long",
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: firebreak\r\n{many_headers}\r\n").into_bytes(),
            431,
            "headers-too-large",
        ),
    ];
    for (request, expected, code) in cases {
        let (status, head, body) = exchange(address, &request, PROMPTLY).await.unwrap();
        assert_eq!(status, expected, "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["type"], format!("https://firebreak.dev/problems/{code}"));
        assert_eq!(problem["status"], expected);
    }
    // A percent-encoded byte that is not UTF-8 reaches the router, which names it.
    let (status, head, body) =
        exchange(address, b"GET /api/v1/teams/%ff HTTP/1.1\r\nHost: firebreak\r\n\r\n", PROMPTLY)
            .await
            .unwrap();
    assert!(status == 400 || status == 401, "{head}\n{body}");
    assert!(head.contains("application/problem+json"), "{head}");
    app.stop().await;
}

/// Ingest routes take JSON only: a body sent as anything else is refused before it is read.
#[tokio::test]
async fn ingest_refuses_bodies_that_are_not_json() {
    let app = TestApp::new().await;
    let key = integration_key(&app).await;
    let (address, _stop) = app.listen(Limits::default()).await;
    let (status, _, body) =
        exchange(address, &post("/v2/enqueue", "text/plain", &event(&key)), PROMPTLY).await.unwrap();
    assert_eq!(status, 415, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "invalid event", "PagerDuty's shape: {body}");
    let webhook = format!("/api/v1/ingest/alertmanager/{key}");
    let (status, head, _) =
        exchange(address, &post(&webhook, "application/x-www-form-urlencoded", "a=b"), PROMPTLY)
            .await
            .unwrap();
    assert_eq!(status, 415);
    assert!(head.contains("application/problem+json"), "{head}");
    for content_type in ["application/json; charset=utf-8", "application/vnd.pagerduty+json"] {
        let (status, _, body) =
            exchange(address, &post("/v2/enqueue", content_type, &event(&key)), PROMPTLY).await.unwrap();
        assert_eq!(status, 202, "{content_type}: {body}");
    }
    app.stop().await;
}
