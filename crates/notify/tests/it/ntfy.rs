//! Push notifications through an HTTP server on loopback that implements ntfy's JSON publishing as ntfy
//! documents and enforces it: `POST /` with a JSON message, a topic name matching ntfy's rule, access
//! tokens as `Authorization: Bearer`, priorities 1 to 5, messages of at most 4,096 bytes and at most three
//! well-formed action buttons. Requests ntfy would refuse are refused with ntfy's status and error object.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use firebreak_notify::{Channel, Channels, NTFY_MESSAGE_BYTES_MAX, Notifier};
use serde_json::{Map, Value, json};

use crate::{describe, now, page};

const TOKEN: &str = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";
const TOPIC: &str = "firebreak-oncall_7f3a";

#[derive(Debug, Clone)]
struct Request {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
    status: u16,
}

struct Fake {
    /// The token the topic needs; `None` for a topic anyone may publish to.
    token: Option<String>,
    forced_status: Option<u16>,
    requests: Vec<Request>,
}

struct FakeNtfy {
    base: String,
    fake: Arc<Mutex<Fake>>,
}

impl FakeNtfy {
    async fn start(token: Option<&str>) -> FakeNtfy {
        let fake = Arc::new(Mutex::new(Fake {
            token: token.map(str::to_owned),
            forced_status: None,
            requests: Vec::new(),
        }));
        let router = Router::new().route("/", post(publish)).fallback(other).with_state(Arc::clone(&fake));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        FakeNtfy { base: format!("http://{address}"), fake }
    }

    fn topic_url(&self) -> String {
        format!("{}/{TOPIC}", self.base)
    }

    fn force(&self, status: Option<u16>) {
        self.fake.lock().unwrap().forced_status = status;
    }

    fn requests(&self) -> Vec<Request> {
        self.fake.lock().unwrap().requests.clone()
    }

    fn only_request(&self) -> Request {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        requests.into_iter().next().unwrap()
    }
}

fn ntfy_error(status: u16, code: u32, error: &str) -> (u16, Value) {
    (status, json!({ "code": code, "http": status, "error": error }))
}

/// Publishing to a topic path (the header form) is left out on purpose: pages use the JSON form.
async fn other(uri: Uri) -> impl IntoResponse {
    let (status, answer) =
        ntfy_error(400, 40000, &format!("this server takes JSON at / only, not {}", uri.path()));
    (StatusCode::from_u16(status).unwrap(), answer.to_string())
}

async fn publish(State(fake): State<Arc<Mutex<Fake>>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let mut fake = fake.lock().unwrap();
    let (status, answer) = match fake.forced_status {
        Some(429) => ntfy_error(429, 42901, "limit reached: too many requests"),
        Some(status) => ntfy_error(status, 50001, "internal server error"),
        None => {
            process(fake.token.as_deref(), header("authorization").as_deref(), &body, fake.requests.len() + 1)
        }
    };
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    fake.requests.push(Request {
        path: "/".into(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body,
        status,
    });
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], answer.to_string())
}

/// What ntfy answers, checked in ntfy's order: the JSON and topic, then access, then the message.
fn process(token: Option<&str>, authorization: Option<&str>, body: &[u8], n: usize) -> (u16, Value) {
    // ntfy reads at most twice the message limit of JSON.
    if body.len() > 2 * NTFY_MESSAGE_BYTES_MAX {
        return ntfy_error(413, 41303, "JSON body too large");
    }
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(body) else {
        return ntfy_error(400, 40017, "invalid request: request body must be message JSON");
    };
    let known = ["topic", "message", "title", "tags", "priority", "actions", "click", "markdown"];
    if let Some(unknown) = message.keys().find(|key| !known.contains(&key.as_str())) {
        return ntfy_error(400, 40017, &format!("invalid request: unexpected field {unknown}"));
    }
    let topic = message.get("topic").and_then(Value::as_str).unwrap_or("");
    let topic_ok = (1..=64).contains(&topic.len())
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !topic_ok {
        return ntfy_error(400, 40009, "invalid request: topic invalid");
    }
    match (authorization, token) {
        (Some(given), Some(token)) if given == format!("Bearer {token}") => {}
        (Some(_), _) => return ntfy_error(401, 40101, "unauthorized"),
        (None, Some(_)) => return ntfy_error(403, 40301, "forbidden"),
        (None, None) => {}
    }
    let text = |key: &str| match message.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(_) => Err(ntfy_error(400, 40017, &format!("invalid request: {key} must be a string"))),
    };
    let (text_message, title, click) = match (text("message"), text("title"), text("click")) {
        (Ok(message), Ok(title), Ok(click)) => (message.unwrap_or("triggered"), title, click),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => return error,
    };
    if text_message.len() > NTFY_MESSAGE_BYTES_MAX {
        // ntfy would turn it into an attachment; a page must not become one.
        return ntfy_error(413, 41301, "message too large for a text notification");
    }
    if click.is_some_and(|click| !is_http_url(click)) {
        return ntfy_error(400, 40017, "invalid request: click must be an http(s) URL");
    }
    // ntfy reads a JSON priority of 0 as "not set" and uses the default; a page that sent 0 would lose its
    // urgency without an error, so this fake refuses it.
    let priority = match message.get("priority") {
        None => 3,
        Some(Value::Number(number)) => match number.as_u64() {
            Some(priority @ 1..=5) => priority,
            _ => return ntfy_error(400, 40007, "invalid priority parameter"),
        },
        Some(_) => return ntfy_error(400, 40017, "invalid request: request body must be message JSON"),
    };
    let tags = match message.get("tags") {
        None => vec![],
        Some(Value::Array(tags)) => {
            let tags: Option<Vec<&str>> = tags.iter().map(Value::as_str).collect();
            match tags {
                Some(tags) if tags.iter().all(|tag| !tag.is_empty() && !tag.contains(',')) => tags,
                _ => return ntfy_error(400, 40017, "invalid request: tags must be strings without commas"),
            }
        }
        Some(_) => return ntfy_error(400, 40017, "invalid request: tags must be an array"),
    };
    let actions = match message.get("actions") {
        None => vec![],
        Some(Value::Array(actions)) if actions.len() <= 3 => {
            match actions.iter().enumerate().map(|(i, action)| check_action(i, action)).collect() {
                Ok(actions) => actions,
                Err(()) => return ntfy_error(400, 40018, "invalid request: actions invalid"),
            }
        }
        Some(_) => return ntfy_error(400, 40018, "invalid request: actions invalid"),
    };
    let mut stored = json!({
        "id": format!("msg{n:09}"),
        "time": 1_750_000_000,
        "expires": 1_750_043_200,
        "event": "message",
        "topic": topic,
        "message": text_message,
        "priority": priority,
    });
    if let Some(title) = title {
        stored["title"] = json!(title);
    }
    if !tags.is_empty() {
        stored["tags"] = json!(tags);
    }
    if let Some(click) = click {
        stored["click"] = json!(click);
    }
    if !actions.is_empty() {
        stored["actions"] = Value::Array(actions);
    }
    (200, stored)
}

/// An action as ntfy stores it (with an id), or `Err` for one ntfy refuses.
fn check_action(index: usize, action: &Value) -> Result<Value, ()> {
    let Value::Object(fields) = action else { return Err(()) };
    let kind = fields.get("action").and_then(Value::as_str).ok_or(())?;
    fields.get("label").and_then(Value::as_str).filter(|label| !label.is_empty()).ok_or(())?;
    let allowed: &[&str] = match kind {
        "view" => &["action", "label", "url", "clear"],
        "http" => &["action", "label", "url", "clear", "method", "headers", "body"],
        "broadcast" => &["action", "label", "clear", "intent", "extras"],
        _ => return Err(()),
    };
    if fields.keys().any(|key| !allowed.contains(&key.as_str())) {
        return Err(());
    }
    if kind != "broadcast" && !fields.get("url").and_then(Value::as_str).is_some_and(is_http_url) {
        return Err(());
    }
    if fields.get("clear").is_some_and(|clear| !clear.is_boolean()) {
        return Err(());
    }
    let mut stored: Map<String, Value> = fields.clone();
    stored.insert("id".into(), json!(format!("action{index}")));
    stored.entry("clear").or_insert(json!(false));
    Ok(Value::Object(stored))
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

fn notifier() -> Notifier {
    Notifier::new(Channels::default()).expect("notifier")
}

#[tokio::test]
async fn ntfy_push_is_delivered_with_a_token() {
    let ntfy = FakeNtfy::start(Some(TOKEN)).await;
    let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), Some(TOKEN), &page(), now()).await;
    assert_eq!(describe(&result), "delivered: ntfy message msg000000001");

    let request = ntfy.only_request();
    assert_eq!(request.status, 200);
    assert_eq!(request.path, "/");
    assert_eq!(request.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let expected = json!({
        "topic": TOPIC,
        "title": "[SEV1] checkout: Payment errors above 5% (level 1)",
        "message": "Payment errors above 5%\nService: checkout · Severity: SEV1 · Level 1\nPaging Alice Example",
        "priority": 5,
        "tags": ["rotating_light", "sev1"],
        "click": "https://firebreak.example.com/incidents/42",
        "actions": [
            {
                "action": "view",
                "label": "Acknowledge",
                "url": "https://firebreak.example.com/p/42/ack?d=0197a1b2&sig=abc123",
                "clear": true,
            },
            { "action": "view", "label": "Open incident", "url": "https://firebreak.example.com/incidents/42" },
        ],
    });
    assert_eq!(request.body, expected);
}

#[tokio::test]
async fn ntfy_public_topic_needs_no_token() {
    let ntfy = FakeNtfy::start(None).await;
    for secret in [None, Some("")] {
        let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), secret, &page(), now()).await;
        assert!(describe(&result).starts_with("delivered: ntfy message "), "{result:?}");
    }
    assert!(ntfy.requests().iter().all(|request| request.authorization.is_none()));
}

#[tokio::test]
async fn ntfy_missing_or_wrong_token_is_permanent() {
    let ntfy = FakeNtfy::start(Some(TOKEN)).await;
    let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), None, &page(), now()).await;
    assert_eq!(describe(&result), "permanent: ntfy refused the message: 40301 forbidden (HTTP 403)");
    let wrong = "tk_wrongwrongwrongwrongwrongwrong";
    let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), Some(wrong), &page(), now()).await;
    let description = describe(&result);
    assert_eq!(description, "permanent: ntfy refused the message: 40101 unauthorized (HTTP 401)");
    let result =
        notifier().send(Channel::Ntfy, &ntfy.topic_url(), Some("tk_bad\nvalue"), &page(), now()).await;
    let description = describe(&result);
    assert_eq!(description, "permanent: ntfy access token cannot be sent as an HTTP header value");
    assert_eq!(ntfy.requests().len(), 2);
}

#[tokio::test]
async fn ntfy_priority_and_tags_follow_severity() {
    let ntfy = FakeNtfy::start(None).await;
    for severity in ["SEV1", "SEV2", "SEV3", "SEV4", "custom"] {
        let mut page = page();
        page.severity = severity.into();
        let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), None, &page, now()).await;
        assert!(describe(&result).starts_with("delivered: "), "{result:?}");
    }
    let seen: Vec<(Value, Value)> = ntfy
        .requests()
        .into_iter()
        .map(|request| (request.body["priority"].clone(), request.body["tags"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (json!(5), json!(["rotating_light", "sev1"])),
            (json!(4), json!(["rotating_light", "sev2"])),
            (json!(3), json!(["warning", "sev3"])),
            (json!(2), json!(["warning", "sev4"])),
            (json!(4), json!(["rotating_light"])),
        ]
    );
}

#[tokio::test]
async fn ntfy_carries_any_title_and_bounds_the_message() {
    let ntfy = FakeNtfy::start(None).await;
    let mut page = page();
    page.title = "Überlast im Zahlungsdienst 🚨, Fehler; \"alle\" Regionen".into();
    page.wakes_management = true;
    let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), None, &page, now()).await;
    assert!(describe(&result).starts_with("delivered: "), "{result:?}");
    let request = ntfy.only_request();
    assert_eq!(request.body["title"], format!("[SEV1] checkout: {} (level 1)", page.title));
    let message = request.body["message"].as_str().expect("message");
    assert!(message.starts_with(&page.title), "{message}");
    assert!(message.ends_with("Paging Alice Example (this level wakes management)"), "{message}");

    page.title = "数据库复制延迟严重".repeat(500);
    page.service = "🔥".repeat(500);
    let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), None, &page, now()).await;
    assert!(describe(&result).starts_with("delivered: "), "{result:?}");
    let message = ntfy.requests()[1].body["message"].as_str().expect("message").to_owned();
    assert!(message.len() <= NTFY_MESSAGE_BYTES_MAX, "{} bytes", message.len());
}

#[tokio::test]
async fn ntfy_rate_limits_and_outages_are_transient() {
    let ntfy = FakeNtfy::start(None).await;
    for (status, expected) in [
        (
            429,
            "transient: ntfy could not take the message now: 42901 limit reached: too many requests (HTTP 429)",
        ),
        (500, "transient: ntfy could not take the message now: 50001 internal server error (HTTP 500)"),
    ] {
        ntfy.force(Some(status));
        let result = notifier().send(Channel::Ntfy, &ntfy.topic_url(), None, &page(), now()).await;
        assert_eq!(describe(&result), expected);
    }
}

#[tokio::test]
async fn ntfy_errors_never_name_the_topic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let url = format!("http://{address}/SECRETTOPIC");
    let result = notifier().send(Channel::Ntfy, &url, Some(TOKEN), &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("transient: ntfy request failed: "), "{description}");
    assert!(!description.contains("SECRETTOPIC") && !description.contains(TOKEN), "{description}");

    let result = notifier().send(Channel::Ntfy, "https://ntfy.sh/SECRET.TOPIC", None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("permanent: ntfy topic URL must be"), "{description}");
    assert!(!description.contains("SECRET"), "{description}");
}

/// The fake refuses what ntfy refuses, so the tests above cannot pass with a request ntfy would not take.
#[tokio::test]
async fn fake_ntfy_refuses_what_ntfy_refuses() {
    let ntfy = FakeNtfy::start(Some(TOKEN)).await;
    let client = reqwest::Client::new();
    let view = |label: &str| json!({ "action": "view", "label": label, "url": "https://x.example/" });
    let cases = [
        (json!({ "topic": "bad topic", "message": "m" }), 40009),
        (json!({ "topic": "a/b", "message": "m" }), 40009),
        (json!({ "topic": "a".repeat(65), "message": "m" }), 40009),
        (json!({ "topic": TOPIC, "message": "m", "priority": 0 }), 40007),
        (json!({ "topic": TOPIC, "message": "m", "priority": 6 }), 40007),
        (json!({ "topic": TOPIC, "message": "m", "priority": "urgent" }), 40017),
        (
            json!({ "topic": TOPIC, "message": "m", "actions": [view("a"), view("b"), view("c"), view("d")] }),
            40018,
        ),
        (
            json!({ "topic": TOPIC, "message": "m", "actions": [{ "action": "open", "label": "a", "url": "https://x/" }] }),
            40018,
        ),
        (
            json!({ "topic": TOPIC, "message": "m", "actions": [{ "action": "view", "url": "https://x/" }] }),
            40018,
        ),
        (json!({ "topic": TOPIC, "message": "m", "actions": [{ "action": "view", "label": "a" }] }), 40018),
        (
            json!({ "topic": TOPIC, "message": "m", "actions": [{ "action": "view", "label": "a", "url": "x" }] }),
            40018,
        ),
        (json!({ "topic": TOPIC, "message": "m", "tags": "a,b" }), 40017),
        (json!({ "topic": TOPIC, "message": "m", "click": "javascript:alert(1)" }), 40017),
        (json!({ "topic": TOPIC, "message": "m", "Title": "t" }), 40017),
        (json!({ "topic": TOPIC, "message": "é".repeat(2049) }), 41301),
    ];
    for (n, (body, code)) in cases.into_iter().enumerate() {
        let response = client
            .post(format!("{}/", ntfy.base))
            .bearer_auth(TOKEN)
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let answer: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
        assert_eq!(answer["code"], code, "case {n}: HTTP {status} {answer}");
        assert_eq!(answer["http"], status, "case {n}");
    }
    // The header form to the topic's own path is not what pages use.
    let response = client.post(ntfy.topic_url()).bearer_auth(TOKEN).body("m").send().await.expect("request");
    assert_eq!(response.status().as_u16(), 400);
    // A valid message without the token is forbidden, with it accepted.
    let valid =
        json!({ "topic": TOPIC, "message": "m", "actions": [view("a"), view("b"), view("c")] }).to_string();
    let response = client.post(format!("{}/", ntfy.base)).body(valid.clone()).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 403);
    let response =
        client.post(format!("{}/", ntfy.base)).bearer_auth(TOKEN).body(valid).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 200);
}
