//! Starting and stopping `firebreak serve` processes for tests.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest time a server gets to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_firebreak"))
}

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `firebreak ARGS` to completion in `dir`.
pub(crate) fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(binary()).args(args).envs(envs.iter().copied()).current_dir(dir).output().unwrap()
}

/// Creates an API token on `database` with the CLI and returns it.
pub(crate) fn create_token(dir: &Path, database: &str, name: &str) -> String {
    let output = run(dir, &["token", "create", "--name", name, "--database", database], &[]);
    assert!(output.status.success(), "token create failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "token create prints exactly one line: {stdout:?}");
    lines[0].to_owned()
}

/// The name and password of `operator`, an administrator created on the server at `url` with the
/// API `token` and given a password with `firebreak user set-password` on `database`.
pub(crate) async fn operator(url: &str, token: &str, dir: &Path, database: &str) -> (String, String) {
    let (name, password) = ("operator".to_owned(), "correct horse battery staple".to_owned());
    let created = reqwest::Client::new()
        .post(format!("{url}/api/v1/users"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": name, "email": "operator@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let mut child = Command::new(binary())
        .args(["user", "set-password", &name, "--admin", "--database", database])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "set-password failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "password set for operator, an administrator\n");
    (name, password)
}

/// A server on a new SQLite database in a temporary directory of its own, with an API token.
///
/// A struct drops its fields in order, so the server stops before its directory is removed; a
/// test that takes the fields apart binds `server` last, for the same reason (locals drop in
/// reverse).
pub(crate) struct Fresh {
    pub(crate) server: Server,
    pub(crate) token: String,
    pub(crate) database: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Fresh {
    /// Creates the database file `file` in a new temporary directory, a token for `name` on it
    /// with the CLI, and starts `firebreak serve` on it.
    pub(crate) async fn start(file: &str, name: &str) -> Fresh {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join(file).display());
        let token = create_token(dir.path(), &database, name);
        let server = Server::start(dir.path(), &database).await;
        Fresh { server, token, database, dir }
    }
}

/// A running `firebreak serve`.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Server {
    /// Starts `firebreak serve` on a free port with `database`, in `dir`, and waits until it answers.
    pub(crate) async fn start(dir: &Path, database: &str) -> Server {
        Server::start_with(dir, database, &[]).await
    }

    /// Like [`Server::start`], with `extra` arguments to `serve`.
    pub(crate) async fn start_with(dir: &Path, database: &str, extra: &[&str]) -> Server {
        Server::start_env(dir, database, extra, &[]).await
    }

    /// Like [`Server::start_with`], with environment variables.
    pub(crate) async fn start_env(
        dir: &Path,
        database: &str,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        Server::start_on(free_port(), dir, database, extra, envs).await
    }

    /// Like [`Server::start_env`], on `port`.
    pub(crate) async fn start_on(
        port: u16,
        dir: &Path,
        database: &str,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let child = Command::new(binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database])
            .args(extra)
            .env("RUST_LOG", "warn")
            .envs(envs.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Server { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(response) = http.get(format!("{}/readyz", server.url)).send().await
                && response.status().is_success()
            {
                return server;
            }
            assert!(started.elapsed() < START_TIMEOUT, "server did not start within {START_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "server exited with {status} after SIGTERM");
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would, and reaps it.
    pub(crate) fn kill9(mut self) {
        // On Unix, `Child::kill` sends SIGKILL.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Says on stderr, past the test harness's capture, what a test measured.
pub(crate) fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Says on stderr, past the test harness's capture, that part of a test was skipped.
pub(crate) fn skipped(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// An API client with a bearer token, checking that every error is a problem document.
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status >= 400 {
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(content_type, "application/problem+json", "{path}");
        }
        let body = response.bytes().await.unwrap();
        // `204 No Content` has no body.
        (status, if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap() })
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

/// One HTTP request a [`Receiver`] got.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) at: Instant,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on loopback that answers 200 to every POST and keeps what it got.
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    notify: std::sync::Arc<tokio::sync::Notify>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        use axum::extract::State;
        type Shared = (std::sync::Arc<std::sync::Mutex<Vec<Received>>>, std::sync::Arc<tokio::sync::Notify>);
        async fn record(
            State((received, notify)): State<Shared>,
            uri: axum::http::Uri,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> &'static str {
            let at = Instant::now();
            let headers = headers
                .iter()
                .map(|(name, value)| {
                    (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned())
                })
                .collect();
            received.lock().unwrap().push(Received {
                path: uri.path().to_owned(),
                headers,
                body: body.to_vec(),
                at,
            });
            notify.notify_waiters();
            "ok"
        }
        let shared: Shared = Default::default();
        let app = axum::Router::new().fallback(axum::routing::post(record)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, received: shared.0, notify: shared.1 }
    }

    /// Waits until at least `count` requests arrived, or `timeout` passed; returns what arrived.
    pub(crate) async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let received = self.received.lock().unwrap().clone();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        }
    }
}
