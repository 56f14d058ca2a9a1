//! Webhook and Slack deliveries to a real HTTP server on loopback that records what it receives and
//! answers with the status named by the last segment of the request path.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use firebreak_notify::{Channel, Channels, Delivered, Notifier, Page, SendError, verify};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{describe, now, page};

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";

struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

struct Receiver {
    address: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start() -> Receiver {
        let (sender, received) = mpsc::unbounded_channel();
        let router = Router::new().route("/{*path}", post(record)).with_state(sender);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        Receiver { address, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.address)
    }

    fn take(&mut self) -> Received {
        self.received.try_recv().expect("the receiver got a request")
    }
}

async fn record(
    State(sender): State<mpsc::UnboundedSender<Received>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let status = uri.path().rsplit('/').next().and_then(|last| last.parse().ok()).unwrap_or(200);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    sender.send(Received { path: uri.path().to_owned(), headers, body }).expect("test is listening");
    (status, if status.is_success() { "ok" } else { "no_service" })
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("<missing>")
}

async fn send(channel: Channel, url: &str, page: &Page) -> Result<Delivered, SendError> {
    let notifier = Notifier::new(Channels::default()).expect("notifier");
    notifier.send(channel, url, Some(SECRET), page, now()).await
}

#[tokio::test]
async fn webhook_is_signed_and_complete() {
    let mut receiver = Receiver::start().await;
    let delivered = send(Channel::Webhook, &receiver.url("hooks/firebreak"), &page()).await;
    assert_eq!(delivered, Ok(Delivered { detail: "HTTP 200".into() }));

    let received = receiver.take();
    assert_eq!(received.path, "/hooks/firebreak");
    assert_eq!(header(&received, "content-type"), "application/json");
    assert_eq!(header(&received, "x-firebreak-timestamp"), "1750000000");
    assert_eq!(header(&received, "x-firebreak-delivery"), "0197a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b");
    assert_eq!(header(&received, "user-agent"), concat!("firebreak/", env!("CARGO_PKG_VERSION")));
    let signature = header(&received, "x-firebreak-signature");
    assert!(signature.starts_with("v1="), "{signature}");
    assert!(verify(SECRET, 1_750_000_000, &received.body, signature));
    assert!(!verify(SECRET, 1_750_000_001, &received.body, signature));
    assert!(!verify("whsec_other", 1_750_000_000, &received.body, signature));

    let body: Value = serde_json::from_slice(&received.body).expect("JSON body");
    let expected = json!({
        "type": "page",
        "delivery_id": "0197a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
        "incident": {
            "id": 42,
            "title": "Payment errors above 5%",
            "service": "checkout",
            "severity": "SEV1",
            "kind": "signal",
            "status": "triggered",
            "url": "https://firebreak.example.com/incidents/42",
        },
        "level": 1,
        "wakes_management": false,
        "recipient": "Alice Example",
        "links": {
            "acknowledge": "https://firebreak.example.com/p/42/ack?d=0197a1b2&sig=abc123",
            "resolve": "https://firebreak.example.com/p/42/resolve?d=0197a1b2&sig=def456",
            "incident": "https://firebreak.example.com/incidents/42",
        },
        "sent_at": "2025-06-15T15:06:40Z",
    });
    assert_eq!(body, expected);
}

#[tokio::test]
async fn webhook_answers_classify() {
    let mut receiver = Receiver::start().await;
    let cases = [
        ("200", "delivered: HTTP 200"),
        ("204", "delivered: HTTP 204"),
        ("400", "permanent: webhook answered HTTP 400: no_service"),
        ("404", "permanent: webhook answered HTTP 404: no_service"),
        ("408", "transient: webhook answered HTTP 408: no_service"),
        ("429", "transient: webhook answered HTTP 429: no_service"),
        ("500", "transient: webhook answered HTTP 500: no_service"),
        ("503", "transient: webhook answered HTTP 503: no_service"),
    ];
    for (status, expected) in cases {
        let result = send(Channel::Webhook, &receiver.url(&format!("status/{status}")), &page()).await;
        assert_eq!(describe(&result), expected, "status {status}");
        receiver.take();
    }
}

#[tokio::test]
async fn webhook_unreachable_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let url = format!("http://{address}/hooks/SECRETPATH");
    for channel in [Channel::Webhook, Channel::Slack] {
        let result = send(channel, &url, &page()).await;
        let description = describe(&result);
        assert!(description.starts_with("transient: "), "{description}");
        assert!(!description.contains("SECRETPATH"), "{description}");
    }
}

#[tokio::test]
async fn webhook_needs_a_secret_and_a_valid_url() {
    let notifier = Notifier::new(Channels::default()).expect("notifier");
    let result = notifier.send(Channel::Webhook, "http://127.0.0.1:9/", None, &page(), now()).await;
    assert_eq!(describe(&result), "permanent: webhook contact method has no signing secret");
    let result = notifier.send(Channel::Webhook, "ftp://127.0.0.1/", Some(SECRET), &page(), now()).await;
    assert_eq!(describe(&result), "permanent: URL must start with http:// or https://");
    let result = notifier.send(Channel::Email, "alice@example.com", None, &page(), now()).await;
    assert_eq!(describe(&result), "permanent: email is not configured: no SMTP server is set");
}

#[tokio::test]
async fn slack_message_shape_and_escaping() {
    let mut receiver = Receiver::start().await;
    let mut page = page();
    page.title = "Latency > 2s for <b>EU</b> & US".into();
    page.service = "edge&cdn".into();
    page.level = 2;
    page.wakes_management = true;
    let delivered = send(Channel::Slack, &receiver.url("services/T000/B000/XXXX"), &page).await;
    assert_eq!(delivered, Ok(Delivered { detail: "HTTP 200".into() }));

    let received = receiver.take();
    assert_eq!(header(&received, "content-type"), "application/json");
    assert_eq!(header(&received, "x-firebreak-signature"), "<missing>");
    let body: Value = serde_json::from_slice(&received.body).expect("JSON body");
    let expected = json!({
        "text": "[SEV1] edge&amp;cdn: Latency &gt; 2s for &lt;b&gt;EU&lt;/b&gt; &amp; US (level 2)",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*[SEV1] edge&amp;cdn*: Latency &gt; 2s for &lt;b&gt;EU&lt;/b&gt; &amp; US",
                },
            },
            {
                "type": "context",
                "elements": [{
                    "type": "mrkdwn",
                    "text": "Kind: signal · Status: triggered · Level 2 · Paging Alice Example · *wakes management*",
                }],
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "<https://firebreak.example.com/p/42/ack?d=0197a1b2&amp;sig=abc123|Acknowledge> · \
                             <https://firebreak.example.com/p/42/resolve?d=0197a1b2&amp;sig=def456|Resolve> · \
                             <https://firebreak.example.com/incidents/42|Incident #42>",
                },
            },
        ],
    });
    assert_eq!(body, expected);
}

#[tokio::test]
async fn slack_answers_classify_without_leaking_the_url() {
    let mut receiver = Receiver::start().await;
    for (status, expected) in [
        ("200", "delivered: HTTP 200"),
        ("403", "permanent: Slack webhook answered HTTP 403: no_service"),
        ("410", "permanent: Slack webhook answered HTTP 410: no_service"),
        ("429", "transient: Slack webhook answered HTTP 429: no_service"),
        ("500", "transient: Slack webhook answered HTTP 500: no_service"),
    ] {
        let url = receiver.url(&format!("services/T000/SECRETTOKEN/{status}"));
        let result = send(Channel::Slack, &url, &page()).await;
        assert_eq!(describe(&result), expected, "status {status}");
        receiver.take();
    }
}

/// The Python verification example in `docs/webhooks.md` accepts a real delivery and rejects a tampered
/// one, so the documentation cannot drift from the code.
#[tokio::test]
async fn documented_python_example_verifies_a_delivery() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhooks.md"))
        .expect("docs/webhooks.md");
    let example = docs
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Python example in docs/webhooks.md");
    let mut receiver = Receiver::start().await;
    send(Channel::Webhook, &receiver.url("hook"), &page()).await.expect("delivered");
    let received = receiver.take();

    let dir = tempfile::tempdir().expect("temp dir");
    let body_path = dir.path().join("body.json");
    std::fs::write(&body_path, &received.body).expect("write body");
    // The example checks the timestamp against the clock; pin the clock to the sending time.
    let check = format!(
        "{example}\n\
         import sys\n\
         time.time = lambda: 1750000030\n\
         headers = {{'X-Firebreak-Timestamp': {timestamp:?}, 'X-Firebreak-Signature': {signature:?}}}\n\
         body = open({body_path:?}, 'rb').read()\n\
         assert verify({SECRET:?}, headers, body)\n\
         assert not verify({SECRET:?}, headers, body + b' ')\n\
         assert not verify('whsec_other', headers, body)\n\
         time.time = lambda: 1750000000 + 301\n\
         assert not verify({SECRET:?}, headers, body)\n",
        timestamp = header(&received, "x-firebreak-timestamp"),
        signature = header(&received, "x-firebreak-signature"),
        body_path = body_path.to_str().expect("UTF-8 path"),
    );
    let output = match std::process::Command::new("python3").args(["-c", &check]).output() {
        Ok(output) => output,
        Err(error) => {
            eprintln!("skipping the documented Python example: cannot run python3: {error}");
            return;
        }
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
