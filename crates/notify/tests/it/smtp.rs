//! Email deliveries to a real SMTP server, `tests/smtp_server.py` (aiosmtpd), run with Debian's
//! `/usr/bin/python3` and a certificate made with the `openssl` command for each test.
//!
//! Without aiosmtpd these tests print why on stderr and pass, so a fresh clone passes `cargo test`;
//! CI sets `FIREBREAK_SMTP_TESTS=required` so that there a missing package fails instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use firebreak_notify::{Channel, Channels, Notifier, SmtpConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::{describe, now, page};

const PYTHON: &str = "/usr/bin/python3";
const RECIPIENT: &str = "alice@example.com";
const SENDER: &str = "Firebreak <pager@firebreak.example.com>";
/// How long the server may take to start or to report a message; generous for a loaded CI machine.
const WAIT: Duration = Duration::from_secs(20);

struct SmtpServer {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    // Killed on drop; closing its stdin also stops it.
    _child: Child,
}

impl SmtpServer {
    async fn start(args: &[&str]) -> SmtpServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the SMTP server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = next_json(&mut lines).await;
        let port = ready["port"].as_u64().and_then(|port| u16::try_from(port).ok()).expect("port");
        SmtpServer { port, lines, _child: child }
    }

    async fn next_message(&mut self) -> Value {
        next_json(&mut self.lines).await
    }
}

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the SMTP server answered in time")
        .expect("reading the SMTP server's output")
        .expect("the SMTP server is still running");
    serde_json::from_str(&line).expect("a JSON line")
}

/// Whether aiosmtpd is there; if not, says so and lets the test pass unless it is required.
fn smtp_server_available() -> bool {
    let found = std::process::Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        let required = std::env::var("FIREBREAK_SMTP_TESTS").is_ok_and(|value| value == "required");
        assert!(!required, "FIREBREAK_SMTP_TESTS=required but `{PYTHON} -c 'import aiosmtpd'` fails");
        eprintln!("skipping SMTP test: {PYTHON} cannot import aiosmtpd (apt-get install python3-aiosmtpd)");
    }
    found
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key.
struct Certificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn certificate() -> Certificate {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // A CA certificate cannot also be a server's certificate, so mark this one as a leaf.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("running openssl");
    assert!(status.success(), "openssl could not make a certificate");
    Certificate { _dir: dir, cert, key }
}

fn notifier(url: &str, ca_file: Option<&Path>) -> Notifier {
    let config = SmtpConfig::parse(url, SENDER, ca_file).expect("valid SMTP config");
    Notifier::new(Channels { smtp: Some(config), twilio: None }).expect("notifier")
}

/// Sends the test page and checks what the server received.
async fn check_delivery(server: &mut SmtpServer, notifier: &Notifier) -> Value {
    let delivered = notifier.send(Channel::Email, RECIPIENT, None, &page(), now()).await;
    assert_eq!(describe(&delivered), "delivered: 250 2.0.0 OK queued as test-1");

    let message = server.next_message().await;
    assert_eq!(message["mail_from"], "pager@firebreak.example.com");
    assert_eq!(message["rcpt_tos"], serde_json::json!([RECIPIENT]));
    let headers = &message["headers"];
    assert_eq!(headers["subject"], "[SEV1] checkout: Payment errors above 5% (level 1)");
    assert_eq!(headers["to"], "Alice Example <alice@example.com>");
    assert_eq!(headers["from"], SENDER);
    assert_eq!(headers["message-id"], "<0197a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b@firebreak.example.com>");
    assert_eq!(headers["references"], "<incident-42@firebreak.example.com>");
    assert_eq!(headers["auto-submitted"], "auto-generated");
    assert_eq!(headers["date"], "Sun, 15 Jun 2025 15:06:40 +0000");
    // Email lines end in CRLF on the wire and after decoding.
    let body = message["body"].as_str().expect("a plain-text body").replace("\r\n", "\n");
    for expected in [
        "Service:  checkout",
        "Severity: SEV1",
        "Kind:     signal",
        "Status:   triggered",
        "Summary:  Payment errors above 5%",
        "Acknowledge: https://firebreak.example.com/p/42/ack?d=0197a1b2&sig=abc123\n",
        "Resolve:     https://firebreak.example.com/p/42/resolve?d=0197a1b2&sig=def456\n",
        "Incident:    https://firebreak.example.com/incidents/42\n",
    ] {
        assert!(body.contains(expected), "{expected:?} missing from:\n{body}");
    }
    message
}

#[tokio::test]
async fn plain_smtp_delivers() {
    if !smtp_server_available() {
        return;
    }
    let mut server = SmtpServer::start(&["--mode", "plain"]).await;
    let notifier = notifier(&format!("smtp://127.0.0.1:{}", server.port), None);
    let message = check_delivery(&mut server, &notifier).await;
    assert_eq!(message["auth_login"], Value::Null);
}

#[tokio::test]
async fn starttls_with_auth_delivers() {
    if !smtp_server_available() {
        return;
    }
    let tls = certificate();
    let (cert, key) = (tls.cert.to_str().expect("UTF-8 path"), tls.key.to_str().expect("UTF-8 path"));
    let args = ["--mode", "starttls", "--cert", cert, "--key", key, "--auth", "pager:s3cret pass"];
    let mut server = SmtpServer::start(&args).await;
    let url = format!("smtp://pager:s3cret%20pass@127.0.0.1:{}?tls=starttls", server.port);
    let message = check_delivery(&mut server, &notifier(&url, Some(&tls.cert))).await;
    assert_eq!(message["auth_login"], "pager");

    let url = format!("smtp://pager:wrong@127.0.0.1:{}?tls=starttls", server.port);
    let result = notifier(&url, Some(&tls.cert)).send(Channel::Email, RECIPIENT, None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("permanent: ") && description.contains("535"), "{description}");
    assert!(!description.contains("wrong"), "{description}");
}

#[tokio::test]
async fn implicit_tls_delivers() {
    if !smtp_server_available() {
        return;
    }
    let tls = certificate();
    let (cert, key) = (tls.cert.to_str().expect("UTF-8 path"), tls.key.to_str().expect("UTF-8 path"));
    let mut server = SmtpServer::start(&["--mode", "tls", "--cert", cert, "--key", key]).await;
    let url = format!("smtps://127.0.0.1:{}", server.port);
    check_delivery(&mut server, &notifier(&url, Some(&tls.cert))).await;
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    if !smtp_server_available() {
        return;
    }
    let tls = certificate();
    let (cert, key) = (tls.cert.to_str().expect("UTF-8 path"), tls.key.to_str().expect("UTF-8 path"));
    for mode in ["starttls", "tls"] {
        let server = SmtpServer::start(&["--mode", mode, "--cert", cert, "--key", key]).await;
        let url = match mode {
            "tls" => format!("smtps://127.0.0.1:{}", server.port),
            _ => format!("smtp://127.0.0.1:{}?tls=starttls", server.port),
        };
        let result = notifier(&url, None).send(Channel::Email, RECIPIENT, None, &page(), now()).await;
        let description = describe(&result);
        assert!(description.starts_with("transient: SMTP delivery failed: "), "{mode}: {description}");
    }
}

#[tokio::test]
async fn starttls_is_required_when_asked_for() {
    if !smtp_server_available() {
        return;
    }
    let tls = certificate();
    let server = SmtpServer::start(&["--mode", "plain"]).await;
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", server.port);
    let result = notifier(&url, Some(&tls.cert)).send(Channel::Email, RECIPIENT, None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("transient: "), "{description}");
}

#[tokio::test]
async fn rejections_classify_by_reply_code() {
    if !smtp_server_available() {
        return;
    }
    for (reply, expected) in [
        ("550 5.7.1 mailbox unavailable", "permanent: SMTP delivery failed: permanent error (550)"),
        ("451 4.3.0 try again later", "transient: SMTP delivery failed: transient error (451)"),
    ] {
        let server = SmtpServer::start(&["--mode", "plain", "--reject", reply]).await;
        let notifier = notifier(&format!("smtp://127.0.0.1:{}", server.port), None);
        let result = notifier.send(Channel::Email, RECIPIENT, None, &page(), now()).await;
        let description = describe(&result);
        assert!(description.starts_with(expected), "{reply}: {description}");
    }
}

#[tokio::test]
async fn closed_port_is_transient() {
    // Needs no SMTP server: nothing listens on a port just released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    let notifier = notifier(&format!("smtp://127.0.0.1:{port}"), None);
    let result = notifier.send(Channel::Email, RECIPIENT, None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("transient: SMTP delivery failed: "), "{description}");
}

#[tokio::test]
async fn invalid_recipient_is_permanent() {
    let notifier = notifier("smtp://127.0.0.1:9", None);
    let result = notifier.send(Channel::Email, "alice at example.com", None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("permanent: invalid email address"), "{description}");
}
