//! Pages over HTTP: signed webhooks and Slack-compatible incoming webhooks, and how HTTP answers map to
//! [`SendError`]. The Twilio and ntfy channels send through the same client and [`exchange`].
//!
//! Redirects are not followed: a webhook URL that redirects is misconfigured, and following it would
//! send the page, links included, to a host nobody entered.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::json;
use url::Url;

use crate::{Delivered, HTTP_TIMEOUT, Page, RESPONSE_BYTES_MAX, SendError, headline, one_line, sign};

/// The `User-Agent` of every HTTP request.
const USER_AGENT: &str = concat!("firebreak/", env!("CARGO_PKG_VERSION"));

/// How much of a rejecting receiver's answer goes into the error message, in characters.
pub(crate) const ANSWER_CHARS_MAX: usize = 200;

pub(crate) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| format!("setting up the HTTP client: {}", error_chain(&error)))
}

/// Parses a webhook or Slack URL; errors never repeat it, since a Slack URL is a secret.
pub(crate) fn parse_url(address: &str) -> Result<Url, String> {
    let url = Url::parse(address).map_err(|error| format!("invalid URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("URL must start with http:// or https://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    Ok(url)
}

pub(crate) async fn send_webhook(
    client: &reqwest::Client,
    address: &str,
    secret: &str,
    page: &Page,
    now: jiff::Timestamp,
) -> Result<Delivered, SendError> {
    let timestamp = now.as_second();
    let body = webhook_body(page, now);
    let signature = sign(secret, timestamp, &body);
    let delivery = HeaderValue::from_str(&page.delivery_id)
        .map_err(|_| SendError::Permanent("delivery id cannot be sent as an HTTP header value".into()))?;
    let request = client
        .post(parse_url(address).map_err(SendError::Permanent)?)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Firebreak-Timestamp", timestamp.to_string())
        .header("X-Firebreak-Signature", signature)
        .header("X-Firebreak-Delivery", delivery)
        .body(body);
    deliver(request, "webhook").await
}

pub(crate) async fn send_slack(
    client: &reqwest::Client,
    address: &str,
    page: &Page,
) -> Result<Delivered, SendError> {
    let request = client
        .post(parse_url(address).map_err(SendError::Permanent)?)
        .header(CONTENT_TYPE, "application/json")
        .body(slack_body(page));
    deliver(request, "Slack webhook").await
}

/// The webhook's JSON payload, described in `docs/webhooks.md`.
pub(crate) fn webhook_body(page: &Page, now: jiff::Timestamp) -> Vec<u8> {
    let payload = json!({
        "type": "page",
        "delivery_id": page.delivery_id,
        "incident": {
            "id": page.incident_id,
            "title": page.title,
            "service": page.service,
            "severity": page.severity,
            "kind": page.kind,
            "status": page.status,
            "url": page.incident_url,
        },
        "level": page.level,
        "wakes_management": page.wakes_management,
        "recipient": page.recipient,
        "links": {
            "acknowledge": page.acknowledge_url,
            "resolve": page.resolve_url,
            "incident": page.incident_url,
        },
        "sent_at": now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    });
    serde_json::to_vec(&payload).expect("a JSON value of strings and numbers serializes")
}

/// A Slack incoming-webhook message: the headline in `text` (what notifications show) and in blocks
/// that lay out the details and the links.
pub(crate) fn slack_body(page: &Page) -> Vec<u8> {
    let summary = format!(
        "*[{}] {}*: {}",
        escape(&one_line(&page.severity, 16)),
        escape(&one_line(&page.service, 100)),
        escape(&one_line(&page.title, crate::TITLE_CHARS_MAX)),
    );
    let mut details = format!(
        "Kind: {} · Status: {} · Level {} · Paging {}",
        escape(&one_line(&page.kind, 50)),
        escape(&one_line(&page.status, 50)),
        page.level,
        escape(&one_line(&page.recipient, 100)),
    );
    if page.wakes_management {
        details.push_str(" · *wakes management*");
    }
    let links = format!(
        "{} · {} · {}",
        link(&page.acknowledge_url, "Acknowledge"),
        link(&page.resolve_url, "Resolve"),
        link(&page.incident_url, &format!("Incident #{}", page.incident_id)),
    );
    let payload = json!({
        "text": escape(&headline(page)),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": summary } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": details } ] },
            { "type": "section", "text": { "type": "mrkdwn", "text": links } },
        ],
    });
    serde_json::to_vec(&payload).expect("a JSON value of strings serializes")
}

/// Escapes the three characters Slack's message formatting reserves.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Slack link `<url|label>`. `|` would end the URL early, so it is percent-encoded.
fn link(url: &str, label: &str) -> String {
    format!("<{}|{}>", escape(&one_line(url, usize::MAX)).replace('|', "%7C"), escape(label))
}

async fn deliver(request: reqwest::RequestBuilder, receiver: &str) -> Result<Delivered, SendError> {
    let (status, answer) = exchange(request, receiver).await?;
    classify(status, &answer, receiver)
}

/// Sends `request` and reads at most [`RESPONSE_BYTES_MAX`] bytes of the answer; errors before a status
/// arrived are classified here, naming `receiver` and never the URL.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    receiver: &str,
) -> Result<(StatusCode, Vec<u8>), SendError> {
    let mut response = request.send().await.map_err(|error| transport_error(&error, receiver))?;
    let status = response.status();
    // Read a bounded prefix of the answer, for the error message and so the connection closes cleanly.
    let mut answer = Vec::new();
    while answer.len() < RESPONSE_BYTES_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            // The status is what counts; an answer cut short by a timeout or reset does not change it.
            Ok(None) | Err(_) => break,
        }
    }
    answer.truncate(RESPONSE_BYTES_MAX);
    Ok((status, answer))
}

/// Whether an HTTP answer other than 2xx is worth retrying: 408, 429 and 5xx.
pub(crate) fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// A receiver's free-form answer, flattened and shortened for an error message.
pub(crate) fn answer_text(answer: &[u8]) -> String {
    one_line(String::from_utf8_lossy(answer).trim(), ANSWER_CHARS_MAX)
}

/// 2xx delivers; 408, 429 and 5xx are worth retrying; every other answer is permanent.
fn classify(status: StatusCode, answer: &[u8], receiver: &str) -> Result<Delivered, SendError> {
    if status.is_success() {
        return Ok(Delivered { detail: format!("HTTP {}", status.as_u16()) });
    }
    let answer = answer_text(answer);
    let mut message = format!("{receiver} answered HTTP {}", status.as_u16());
    if status.is_redirection() {
        message.push_str(" (redirects are not followed; use the final URL)");
    }
    if !answer.is_empty() {
        message.push_str(": ");
        message.push_str(&answer);
    }
    Err(if is_transient(status) { SendError::Transient(message) } else { SendError::Permanent(message) })
}

/// Errors before an HTTP status arrived: the URL is left out, since a Slack URL is a secret.
fn transport_error(error: &reqwest::Error, receiver: &str) -> SendError {
    if error.is_builder() {
        return SendError::Permanent(format!("{receiver} request is invalid: {}", error_chain(error)));
    }
    if error.is_timeout() {
        return SendError::Transient(format!(
            "{receiver} did not answer within {} s",
            HTTP_TIMEOUT.as_secs()
        ));
    }
    SendError::Transient(one_line(&format!("{receiver} request failed: {}", error_chain(error)), 500))
}

/// The error and its causes, joined by `: `, without any URL.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    // Display of reqwest::Error appends " for url (…)"; its sources carry the useful part.
    if let Some(cut) = text.find(" for url (") {
        text.truncate(cut);
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, expected: &str) {
        let status = StatusCode::from_u16(status).expect("status");
        let actual = match classify(status, b"  nope\r\n  ", "webhook") {
            Ok(delivered) => format!("delivered: {}", delivered.detail),
            Err(SendError::Transient(message)) => format!("transient: {message}"),
            Err(SendError::Permanent(message)) => format!("permanent: {message}"),
        };
        assert_eq!(actual, expected);
    }

    #[test]
    fn statuses_classify() {
        check(200, "delivered: HTTP 200");
        check(202, "delivered: HTTP 202");
        check(204, "delivered: HTTP 204");
        check(
            301,
            "permanent: webhook answered HTTP 301 (redirects are not followed; use the final URL): nope",
        );
        check(400, "permanent: webhook answered HTTP 400: nope");
        check(401, "permanent: webhook answered HTTP 401: nope");
        check(404, "permanent: webhook answered HTTP 404: nope");
        check(408, "transient: webhook answered HTTP 408: nope");
        check(410, "permanent: webhook answered HTTP 410: nope");
        check(429, "transient: webhook answered HTTP 429: nope");
        check(500, "transient: webhook answered HTTP 500: nope");
        check(503, "transient: webhook answered HTTP 503: nope");
    }

    #[test]
    fn slack_escaping() {
        assert_eq!(escape("a & b <c> &amp;"), "a &amp; b &lt;c&gt; &amp;amp;");
        assert_eq!(
            link("https://x/a?b=1&c=2|3", "Ack <now>"),
            "<https://x/a?b=1&amp;c=2%7C3|Ack &lt;now&gt;>"
        );
    }
}
