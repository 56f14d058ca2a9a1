//! The in-process harness: the whole router over a fresh store, a manual clock and a transport
//! that records pages, with requests sent to the router without a socket.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use firebreak_app::testing::{self, Recording};
use firebreak_app::{App, Options};
use firebreak_domain::ManualClock;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Where the harness's clock starts.
pub(crate) const START: &str = "2026-03-02T08:00:00Z";
/// How long a test lets the application stop.
const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A firebreak served in-process, and an API token of "ana" for it.
pub(crate) struct TestApp {
    pub(crate) app: App,
    router: Router,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) pages: Recording,
    pub(crate) token: String,
    session: tokio::sync::OnceCell<String>,
    _dir: Option<tempfile::TempDir>,
}

/// A response as tests look at it.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("answers are UTF-8")
    }

    pub(crate) fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).expect("a JSON answer")
        }
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |value| value.to_str().expect("an ASCII header"))
    }
}

impl TestApp {
    /// On a new SQLite file, with the ingest journal, as served.
    pub(crate) async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let (clock, pages, options) = parts();
        let app = testing::start_on_sqlite(dir.path(), clock.clone(), options).await.unwrap();
        TestApp::over(app, clock, pages, Some(dir)).await
    }

    /// On a new PostgreSQL schema, when `FIREBREAK_TEST_DATABASE_URL` is set.
    pub(crate) async fn postgres(test: &str) -> Option<TestApp> {
        let (clock, pages, options) = parts();
        let app = testing::start_on_postgres(test, clock.clone(), options).await.unwrap()?;
        Some(TestApp::over(app, clock, pages, None).await)
    }

    async fn over(
        app: App,
        clock: Arc<ManualClock>,
        pages: Recording,
        dir: Option<tempfile::TempDir>,
    ) -> TestApp {
        let token = app.create_token("ana").await.unwrap();
        let router = firebreak_server::router(firebreak_server::Server::new(app.clone()));
        TestApp { app, router, clock, pages, token, session: tokio::sync::OnceCell::new(), _dir: dir }
    }

    /// The secret of a web UI session of `operator`, an administrator made the first time a page
    /// is asked for.
    pub(crate) async fn session(&self) -> &str {
        self.session
            .get_or_init(|| async {
                let system = firebreak_app::Principal::system();
                let body = firebreak_api::CreateUser {
                    name: OPERATOR.into(),
                    email: "operator@example.com".into(),
                    time_zone: None,
                };
                let user = self.app.create_user(&system, body).await.unwrap();
                let user = firebreak_api::Ref::Id(user.id);
                self.app.set_admin(&system, &user, true).await.unwrap();
                self.app.set_password(&system, &user, OPERATOR_PASSWORD).await.unwrap();
                self.app.login(OPERATOR, OPERATOR_PASSWORD, "").await.unwrap().secret
            })
            .await
    }

    /// The form token of [`TestApp::session`].
    pub(crate) async fn csrf(&self) -> String {
        firebreak_app::access::form_token(self.session().await)
    }

    /// Sends `request` to the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("the router always answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("a body in memory").to_bytes().to_vec();
        Answer { status, headers, body }
    }

    /// An API call with the token and, if given, a JSON body. Every error answer must be a
    /// problem document.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let answer = self.send(request.body(body).unwrap()).await;
        if answer.status.as_u16() >= 400 {
            assert_eq!(answer.header("content-type"), "application/problem+json", "{path}");
        }
        (answer.status.as_u16(), answer.json())
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A request without the token: `body` is sent as it is, with `content_type` if given.
    pub(crate) async fn anonymous(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap()).await
    }

    /// A web UI page, logged in as the token's holder.
    pub(crate) async fn page(&self, path: &str) -> Answer {
        let request = Request::builder()
            .uri(path)
            .header(header::COOKIE, format!("firebreak_session={}", self.session().await))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// A web UI form post, logged in, with `fields` URL-encoded.
    pub(crate) async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, format!("firebreak_session={}", self.session().await))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Serves the application on a socket of its own, with `limits`, until the returned sender is
    /// dropped: for what only a real connection shows.
    pub(crate) async fn listen(
        &self,
        limits: firebreak_server::Limits,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = firebreak_server::Server::new(self.app.clone());
        tokio::spawn(firebreak_server::serve_with(
            listener,
            server,
            async move {
                let _ = stopped.await;
            },
            limits,
        ));
        (address, stop)
    }

    /// Stops the application and closes its database.
    pub(crate) async fn stop(self) {
        let cut_short = self.app.shutdown(STOP_TIMEOUT).await;
        assert!(cut_short.is_empty(), "workers that did not stop: {cut_short:?}");
        self.app.close().await;
    }
}

/// An application on a new SQLite database in `dir`, with nobody able to log in yet.
pub(crate) async fn bare_sqlite(dir: &std::path::Path) -> App {
    let (clock, _, options) = parts();
    testing::start_on_sqlite(dir, clock, options).await.unwrap()
}

/// The administrator the web UI pages of tests are seen by.
pub(crate) const OPERATOR: &str = "operator";
/// Their password.
pub(crate) const OPERATOR_PASSWORD: &str = "correct horse battery staple";

/// The Twilio auth token the test server checks replies against.
pub(crate) const TWILIO_AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A manual clock at [`START`], a recording transport, and the options that use it.
fn parts() -> (Arc<ManualClock>, Recording, Options) {
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let pages = Recording::default();
    let options = Options {
        public_url: "https://firebreak.example".into(),
        prometheus_url: None,
        transport: Arc::new(pages.clone()),
        twilio_auth_token: Some(TWILIO_AUTH_TOKEN.to_owned()),
        oidc: None,
    };
    (clock, pages, options)
}

/// `text` as a form value: every byte but unreserved ones percent-encoded.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
