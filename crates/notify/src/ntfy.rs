//! Pages as mobile push notifications through ntfy, on ntfy.sh or a self-hosted server.
//!
//! The contact method's address is the topic URL (`https://ntfy.sh/mytopic`) and its secret, if any, an
//! access token. The page is published in ntfy's JSON form (`POST /` on the server, the topic inside the
//! body) rather than as a body with `Title`, `Tags` and `Actions` headers: header values must be ASCII
//! unless RFC 2047-encoded, titles often are not, and action labels and URLs would need quoting for
//! commas and semicolons. JSON carries every character as it is.
//!
//! On a public server the topic name is the only thing that keeps others from reading or sending to a
//! topic, so errors never contain the topic URL.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use url::Url;

use crate::http::{self, answer_text, exchange, is_transient};
use crate::{Delivered, Page, SendError, headline, one_line, severity_rank};

/// The largest message ntfy accepts as text, in bytes; a longer one becomes an attachment.
pub const NTFY_MESSAGE_BYTES_MAX: usize = 4096;

/// The longest topic name ntfy accepts, in characters.
const TOPIC_CHARS_MAX: usize = 64;

/// How much of an incident title goes into the notification's message, in characters; at most four
/// bytes each, this keeps the message well under [`NTFY_MESSAGE_BYTES_MAX`].
const MESSAGE_TITLE_CHARS_MAX: usize = 500;

/// How many characters of the message id from ntfy's answer go into the delivery log.
const ID_CHARS_MAX: usize = 64;

/// Checks an ntfy topic URL: `http` or `https`, a host, and a path of exactly one topic name of 1 to 64
/// letters, digits, `-` or `_` (ntfy's own rule), with no credentials, query or fragment. The error does
/// not repeat the URL.
pub(crate) fn parse_topic_url(address: &str) -> Result<Url, String> {
    let url = http::parse_url(address)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("ntfy topic URL must not hold credentials: put an access token in the secret".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("ntfy topic URL must not have a query or fragment".into());
    }
    let topic = url.path().strip_prefix('/').unwrap_or_default();
    let valid = (1..=TOPIC_CHARS_MAX).contains(&topic.len())
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(format!(
            "ntfy topic URL must be the server followed by one topic name of 1 to {TOPIC_CHARS_MAX} letters, \
             digits, '-' or '_', as in https://ntfy.example.com/team-pager"
        ));
    }
    Ok(url)
}

/// Publishes the page to the topic at `address`, with `token` as a bearer token if given.
pub(crate) async fn send(
    client: &reqwest::Client,
    address: &str,
    token: Option<&str>,
    page: &Page,
) -> Result<Delivered, SendError> {
    let topic_url = parse_topic_url(address).map_err(SendError::Permanent)?;
    let topic = topic_url.path().trim_start_matches('/').to_owned();
    let mut server = topic_url;
    server.set_path("/");
    let mut request =
        client.post(server).header(CONTENT_TYPE, "application/json").body(publish_body(&topic, page));
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            SendError::Permanent("ntfy access token cannot be sent as an HTTP header value".into())
        })?;
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    let (status, answer) = exchange(request, "ntfy").await?;
    classify(status, &answer)
}

/// ntfy's priority for a severity: SEV1 is urgent (5), SEV2 high (4), SEV3 the default (3), SEV4 low
/// (2). Anything else is high: it is still a page.
pub(crate) fn priority(severity: &str) -> u8 {
    match severity_rank(severity) {
        Some(1) => 5,
        Some(3) => 3,
        Some(4) => 2,
        _ => 4,
    }
}

/// The JSON publish request: the headline as title, the details as message, the incident as click
/// target, and buttons to acknowledge and to open the incident.
pub(crate) fn publish_body(topic: &str, page: &Page) -> Vec<u8> {
    let rank = severity_rank(&page.severity);
    let emoji = if matches!(rank, Some(1 | 2) | None) { "rotating_light" } else { "warning" };
    let mut tags = vec![emoji.to_owned()];
    if let Some(rank) = rank {
        tags.push(format!("sev{rank}"));
    }
    let mut message = format!(
        "{}\nService: {} · Severity: {} · Level {}\nPaging {}",
        one_line(&page.title, MESSAGE_TITLE_CHARS_MAX),
        one_line(&page.service, 100),
        one_line(&page.severity, 16),
        page.level,
        one_line(&page.recipient, 100),
    );
    if page.wakes_management {
        message.push_str(" (this level wakes management)");
    }
    let payload = json!({
        "topic": topic,
        "title": headline(page),
        "message": message,
        "priority": priority(&page.severity),
        "tags": tags,
        "click": page.incident_url,
        "actions": [
            { "action": "view", "label": "Acknowledge", "url": page.acknowledge_url, "clear": true },
            { "action": "view", "label": "Open incident", "url": page.incident_url },
        ],
    });
    serde_json::to_vec(&payload).expect("a JSON value of strings and numbers serializes")
}

/// ntfy answers 200 with the message it stored, or an error object `{code, http, error, link}`.
fn classify(status: StatusCode, answer: &[u8]) -> Result<Delivered, SendError> {
    let json: Option<Value> = serde_json::from_slice(answer).ok();
    if status.is_success() {
        let id = json.as_ref().and_then(|json| json.get("id")).and_then(Value::as_str);
        let detail = match id {
            Some(id) => format!("ntfy message {}", one_line(id, ID_CHARS_MAX)),
            None => format!("ntfy accepted the message (HTTP {})", status.as_u16()),
        };
        return Ok(Delivered { detail });
    }
    let code = json.as_ref().and_then(|json| json.get("code")).and_then(Value::as_u64);
    let error = json
        .as_ref()
        .and_then(|json| json.get("error"))
        .and_then(Value::as_str)
        .map(|text| one_line(text.trim(), http::ANSWER_CHARS_MAX));
    let reason = match (code, error) {
        (Some(code), Some(error)) => format!("{code} {error}"),
        (None, Some(error)) => error,
        _ => answer_text(answer),
    };
    let http_status = status.as_u16();
    Err(if is_transient(status) {
        SendError::Transient(format!("ntfy could not take the message now: {reason} (HTTP {http_status})"))
    } else {
        SendError::Permanent(format!("ntfy refused the message: {reason} (HTTP {http_status})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_urls() {
        for valid in
            ["https://ntfy.sh/mytopic", "http://10.0.0.5:8080/fire-break_Ops1", "https://ntfy.example.com/a"]
        {
            assert!(parse_topic_url(valid).is_ok(), "{valid}");
        }
        let long = format!("https://ntfy.sh/{}", "a".repeat(65));
        for invalid in [
            "https://ntfy.sh/",
            "https://ntfy.sh",
            "https://ntfy.sh/a/b",
            "https://ntfy.sh/my.topic",
            "https://ntfy.sh/my%20topic",
            "https://ntfy.sh/mytopic?auth=x",
            "https://ntfy.sh/mytopic#x",
            "https://user:pass@ntfy.sh/mytopic",
            "ntfy.sh/mytopic",
            "ftp://ntfy.sh/mytopic",
            &long,
        ] {
            let error = parse_topic_url(invalid).expect_err(invalid);
            assert!(!error.contains("mytopic") && !error.contains("ntfy.sh"), "{error}");
        }
    }

    #[test]
    fn priorities() {
        let priorities: Vec<u8> = ["SEV1", "SEV2", "SEV3", "SEV4", "sev1", "P1", ""].map(priority).to_vec();
        assert_eq!(priorities, [5, 4, 3, 2, 5, 4, 4]);
    }

    #[test]
    fn answers_classify() {
        let check = |status: u16, answer: &str| match classify(
            StatusCode::from_u16(status).unwrap(),
            answer.as_bytes(),
        ) {
            Ok(delivered) => format!("delivered: {}", delivered.detail),
            Err(SendError::Transient(message)) => format!("transient: {message}"),
            Err(SendError::Permanent(message)) => format!("permanent: {message}"),
        };
        assert_eq!(
            check(200, r#"{"id":"hwQ2YpKdmg","event":"message"}"#),
            "delivered: ntfy message hwQ2YpKdmg"
        );
        assert_eq!(
            check(
                403,
                r#"{"code":40301,"http":403,"error":"forbidden","link":"https://ntfy.sh/docs/publish/#authentication"}"#
            ),
            "permanent: ntfy refused the message: 40301 forbidden (HTTP 403)"
        );
        assert_eq!(
            check(429, r#"{"code":42901,"http":429,"error":"limit reached: too many requests"}"#),
            "transient: ntfy could not take the message now: 42901 limit reached: too many requests (HTTP 429)"
        );
        assert_eq!(
            check(502, "bad gateway"),
            "transient: ntfy could not take the message now: bad gateway (HTTP 502)"
        );
    }
}
